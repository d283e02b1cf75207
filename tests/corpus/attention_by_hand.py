# Scaled dot-product attention by hand, with a causal mask.
import math
import torch
import torch.nn.functional as F

torch.manual_seed(26)
B, T, C = 2, 4, 8
x = torch.randn(B, T, C)
Wq = torch.randn(C, C) / math.sqrt(C)
Wk = torch.randn(C, C) / math.sqrt(C)
Wv = torch.randn(C, C) / math.sqrt(C)

q = x @ Wq
k = x @ Wk
v = x @ Wv
scores = q @ k.transpose(-2, -1) / math.sqrt(C)
print(scores.shape)

mask = torch.tril(torch.ones(T, T))
scores = scores.masked_fill(mask == 0, float("-inf"))
weights = F.softmax(scores, dim=-1)
print(weights[0])
out = weights @ v
print(out.shape)
print(out[0, 0])
print(torch.allclose(weights.sum(-1), torch.ones(B, T)))

# multi-head split
n_head = 2
qh = q.view(B, T, n_head, C // n_head).transpose(1, 2)
print(qh.shape)
att = (qh @ qh.transpose(-2, -1)) * (1.0 / math.sqrt(qh.size(-1)))
print(att.softmax(dim=-1)[1, 1])
