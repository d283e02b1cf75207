# Autograd basics: gradients of scalar functions, chain rule, retain_grad.
import torch

x = torch.tensor(2.0, requires_grad=True)
y = x ** 3 + 3 * x
y.backward()
print(x.grad)  # 3x^2 + 3 = 15

a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
b = a * 2
b.retain_grad()
c = (b ** 2).sum()
c.backward()
print(a.grad)
print(b.grad)
print(c)
print(b.is_leaf, a.is_leaf)

w = torch.tensor([[1.0, -1.0], [0.5, 2.0]], requires_grad=True)
v = torch.tensor([3.0, 4.0])
out = torch.tanh(w @ v).sum()
out.backward()
print(w.grad)

z = torch.linspace(-2, 2, 5, requires_grad=True)
torch.sigmoid(z).sum().backward()
print(z.grad)

q = torch.ones(2, 2, requires_grad=True)
r = q * 3
r.backward(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
print(q.grad)
