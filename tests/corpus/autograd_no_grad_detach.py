# no_grad, detach and requires_grad bookkeeping.
import torch

x = torch.randn(3, requires_grad=True)
y = x * 2
print(y.requires_grad)
with torch.no_grad():
    z = x * 2
print(z.requires_grad)
d = y.detach()
print(d.requires_grad, d.is_leaf)

torch.manual_seed(23)
w = torch.randn(3, requires_grad=True)
target = torch.tensor([1.0, 2.0, 3.0])
pred = w * 2
loss = ((pred.detach() * w - target) ** 2).sum()
loss.backward()
print(w.grad)

p = torch.tensor([1.0, 2.0], requires_grad=True)
print(p.detach().numpy())
print(p.tolist(), p.data)
p.requires_grad_(False)
print(p.requires_grad)

with torch.no_grad():
    q = torch.ones(2, requires_grad=True)
    print(q.requires_grad, (q * 2).requires_grad)

@torch.no_grad()
def evaluate(t):
    return t * t

print(evaluate(torch.ones(2, requires_grad=True)).requires_grad)
torch.set_grad_enabled(False)
print((x * 3).requires_grad)
torch.set_grad_enabled(True)
print((x * 3).requires_grad)
