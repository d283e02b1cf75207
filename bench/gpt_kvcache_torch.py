# bench/gpt_kvcache_torch.py: bench/gpt_kvcache.py's generation in PyTorch with a
# hand-written KV cache, as one writes it for a fast baseline: per layer, K and V tensors
# preallocated for the whole context, each step runs the model on the new position only
# (the prompt once), writes its k and v into the caches and attends over the cached
# prefix. The same model, seed and sampling as bench/gpt_kvcache.py, so the tokens must be
# the same (bench/gpt_kvcache.sh checks). python3 only: ttc derives its cache itself.
import math
import sys
import time
import torch
import torch.nn.functional as F
from gpt_model import GPT, GPTConfig

CTX = int(sys.argv[1]) if len(sys.argv) > 1 else 128

torch.manual_seed(1337)
model = GPT(GPTConfig(block_size=CTX))
model.eval()
tr = model.transformer

def step(idx_new, pos0, cache):
    B, T = idx_new.size()
    x = tr.wte(idx_new) + tr.wpe(torch.arange(pos0, pos0 + T, dtype=torch.long))
    for block, (K, V) in zip(tr.h, cache):
        a = block.attn
        h = block.ln_1(x)
        C = h.size(-1)
        q, k, v = a.c_attn(h).split(a.n_embd, dim=2)
        q = q.view(B, T, a.n_head, C // a.n_head).transpose(1, 2)
        k = k.view(B, T, a.n_head, C // a.n_head).transpose(1, 2)
        v = v.view(B, T, a.n_head, C // a.n_head).transpose(1, 2)
        K[:, :, pos0:pos0 + T] = k
        V[:, :, pos0:pos0 + T] = v
        att = (q @ K[:, :, :pos0 + T].transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(a.bias[:, :, pos0:pos0 + T, :pos0 + T] == 0, float('-inf'))
        y = F.softmax(att, dim=-1) @ V[:, :, :pos0 + T]
        x = x + a.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))
        x = x + block.mlp(block.ln_2(x))
    return model.lm_head(tr.ln_f(x[:, -1:, :]))

def generate(idx, n):
    hd = tr.h[0].attn.n_embd // tr.h[0].attn.n_head
    cache = [(torch.zeros(1, b.attn.n_head, CTX, hd), torch.zeros(1, b.attn.n_head, CTX, hd)) for b in tr.h]
    times, pos = [], 0
    for _ in range(n):
        t0 = time.perf_counter()
        logits = step(idx[:, pos:], pos, cache)
        pos = idx.size(1)
        probs = F.softmax(logits[:, -1, :], dim=-1)
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
