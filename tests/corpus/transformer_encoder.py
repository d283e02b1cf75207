# nn.TransformerEncoder over a TransformerEncoderLayer, and nn.MultiheadAttention with a causal mask: print, train and eval modes, a few SGD steps
import torch
import torch.nn as nn
torch.manual_seed(0)
layer = nn.TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32, dropout=0.1, batch_first=True)
enc = nn.TransformerEncoder(layer, num_layers=2)
mha = nn.MultiheadAttention(16, 2, batch_first=True)
print(enc)
x = torch.randn(3, 5, 16)
y = enc(x)
print(y.shape, round(y.sum().item(), 3))
enc.eval()
with torch.no_grad():
    print(enc(x)[0, :2, :4])
o, w = mha(x, x, x)
print(o.shape, w.shape)
print(w[0, 0])
mask = torch.triu(torch.ones(5, 5, dtype=torch.bool), diagonal=1)
o2, _ = mha(x, x, x, attn_mask=mask)
print(o2[1, :, :3])
opt = torch.optim.SGD(list(enc.parameters()) + list(mha.parameters()), lr=0.1)
enc.train()
for i in range(3):
    loss = (enc(x) ** 2).mean() + mha(x, x, x)[0].pow(2).mean()
    opt.zero_grad(); loss.backward(); opt.step()
    print(f"{loss.item():.4f}")
print(sum(p.numel() for p in enc.parameters()))
print([n for n, _ in mha.named_parameters()])
