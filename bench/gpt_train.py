# bench/gpt_train.py: the time of one GPT training step (nanoGPT's model: batch 16,
# context 128, 4 layers, 4 heads, d_model 128, vocabulary 96, AdamW, clipping at 1.0),
# the same script under ttc and python3. bench/gpt_train.sh runs both side by side.
import time
import torch
from gpt_model import GPT, GPTConfig

torch.manual_seed(1337)
batch_size = 16
config = GPTConfig()
model = GPT(config)
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
data = torch.randint(config.vocab_size, (4096,))

def get_batch():
    ix = torch.randint(len(data) - config.block_size, (batch_size,))
    x = torch.stack([data[i:i + config.block_size] for i in ix])
    y = torch.stack([data[i + 1:i + config.block_size + 1] for i in ix])
    return x, y

warmup, steps = 3, 20
for step in range(warmup + steps):
    if step == warmup:
        t0 = time.perf_counter()
    xb, yb = get_batch()
    logits, loss = model(xb, yb)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
t1 = time.perf_counter()
print(f"loss {loss.item():.4f}")
print(f"ms per step {1000 * (t1 - t0) / steps:.2f}")
