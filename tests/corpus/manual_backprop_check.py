# Check autograd against gradients derived by hand for a linear layer + MSE.
import torch

torch.manual_seed(30)
N, D_in, D_out = 8, 3, 2
x = torch.randn(N, D_in)
y = torch.randn(N, D_out)
W = torch.randn(D_in, D_out, requires_grad=True)
b = torch.zeros(D_out, requires_grad=True)

y_pred = x.mm(W) + b
loss = (y_pred - y).pow(2).sum()
loss.backward()

grad_y_pred = 2.0 * (y_pred.detach() - y)
grad_W = x.t().mm(grad_y_pred)
grad_b = grad_y_pred.sum(0)
print(torch.allclose(W.grad, grad_W, atol=1e-5))
print(torch.allclose(b.grad, grad_b, atol=1e-5))
print(W.grad)
print(b.grad)

# the classic two-layer net with manual updates (numpy-to-torch tutorial)
w1 = torch.randn(D_in, 5, requires_grad=True)
w2 = torch.randn(5, D_out, requires_grad=True)
learning_rate = 1e-3
for t in range(50):
    y_pred = x.mm(w1).clamp(min=0).mm(w2)
    loss = (y_pred - y).pow(2).sum()
    if t % 10 == 9:
        print(t, round(loss.item(), 4))
    loss.backward()
    with torch.no_grad():
        w1 -= learning_rate * w1.grad
        w2 -= learning_rate * w2.grad
        w1.grad.zero_()
        w2.grad.zero_()
