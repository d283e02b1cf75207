# bench/gpt_generate.py: nanoGPT's generate() by full recompute (every new token runs the
# model on the whole context, cropped to block_size), batch 1, 127 new tokens after a
# 1-token prompt, which fills the context of 128 exactly; the bench GPT of
# bench/gpt_model.py (vocabulary 96, 4 layers, 4 heads, d_model 128), untrained, sampling
# with a fixed seed. The same script under ttc and python3; bench/gpt_generate.sh runs both
# side by side. Both print the tokens they drew, which must be the same.
import time
import torch
from gpt_model import GPT, GPTConfig

torch.manual_seed(1337)
config = GPTConfig()
model = GPT(config)
model.eval()
context = torch.zeros((1, 1), dtype=torch.long)
warm = model.generate(context, max_new_tokens=32)
t0 = time.perf_counter()
out = model.generate(context, max_new_tokens=127)
t1 = time.perf_counter()
print("tokens", out[0].tolist())
print(f"ms per token {1000 * (t1 - t0) / 127:.3f}")
print(f"tokens per s {127 / (t1 - t0):.1f}")
