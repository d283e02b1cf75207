# bench/gpt_kvcache.py: generation by the bench GPT (bench/gpt_model.py: vocabulary 96, 4
# layers, 4 heads, d_model 128, GELU MLP 4x, pre-norm, learned positions), untrained, batch
# 1: CTX - 1 new tokens after a 1-token prompt (which fills the context exactly), sampled
# with a fixed seed, timing every step. The same file runs under ttc (whose kvcache pass
# turns the loop into a prefill and a decode step over K and V caches; build it with
# --disable-pass=kvcache for full recompute) and under python3 (PyTorch by full recompute,
# as nanoGPT's generate()). bench/gpt_kvcache_torch.py is PyTorch with a hand-written
# cache; bench/gpt_kvcache.sh runs them all side by side.
#
# Prints the tokens, the mean time per token, and the mean time per token in eight bands of
# positions (a flat profile: constant work per token).
import time
import torch
import torch.nn.functional as F
from gpt_model import GPT, GPTConfig

CTX = 128

torch.manual_seed(1337)
model = GPT(GPTConfig(block_size=CTX))
model.eval()

def generate(idx, n):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        idx_cond = idx if idx.size(1) <= CTX else idx[:, -CTX:]
        logits, _ = model(idx_cond)
        logits = logits[:, -1, :]
        probs = F.softmax(logits, dim=-1)
        idx_next = torch.multinomial(probs, num_samples=1)
        idx = torch.cat((idx, idx_next), dim=1)
        times.append(time.perf_counter() - t0)
    return idx, times

with torch.no_grad():
    warm, _ = generate(torch.zeros((1, 1), dtype=torch.long), 16)
    out, times = generate(torch.zeros((1, 1), dtype=torch.long), CTX - 1)
print("tokens", out[0].tolist())
print(f"ms per token {1000 * sum(times) / len(times):.4f}")
band = (CTX - 1) // 8
for b in range(8):
    lo = b * band
    hi = len(times) if b == 7 else lo + band
    print(f"positions {lo + 1}-{hi}: ms per token {1000 * sum(times[lo:hi]) / (hi - lo):.4f}")
