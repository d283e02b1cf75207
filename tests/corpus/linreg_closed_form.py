# Least squares by the normal equations, compared with gradient descent.
import torch

torch.manual_seed(40)
n = 50
X = torch.randn(n, 2)
y = X @ torch.tensor([1.5, -0.7]) + 0.3 + 0.01 * torch.randn(n)
A = torch.cat([X, torch.ones(n, 1)], dim=1)

theta = torch.linalg.solve(A.T @ A, A.T @ y)
print("normal equations:", [round(v, 3) for v in theta.tolist()])
theta2 = torch.inverse(A.T @ A) @ A.T @ y
print("inverse:", torch.allclose(theta, theta2, atol=1e-4))
theta3 = torch.linalg.lstsq(A, y.unsqueeze(1)).solution.squeeze(1)
print("lstsq:", torch.allclose(theta, theta3, atol=1e-4))

w = torch.zeros(3, requires_grad=True)
opt = torch.optim.SGD([w], lr=0.1)
for _ in range(200):
    opt.zero_grad()
    loss = ((A @ w - y) ** 2).mean()
    loss.backward()
    opt.step()
print("gradient descent:", [round(v, 3) for v in w.tolist()])
print(f"residual {((A @ theta - y) ** 2).mean().item():.6f}")
