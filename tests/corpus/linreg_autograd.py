# Linear regression from scratch: parameters as tensors with requires_grad,
# gradient descent by hand inside torch.no_grad().
import torch

torch.manual_seed(0)
X = torch.randn(100, 1)
y = 3 * X + 2 + 0.1 * torch.randn(100, 1)

w = torch.randn(1, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
lr = 0.1

for epoch in range(50):
    y_pred = X * w + b
    loss = ((y_pred - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        w -= lr * w.grad
        b -= lr * b.grad
    w.grad.zero_()
    b.grad.zero_()
    if epoch % 10 == 0:
        print(f"epoch {epoch}: loss = {loss.item():.4f}")

print(f"w = {w.item():.3f}, b = {b.item():.3f}")
