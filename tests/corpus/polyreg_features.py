# Polynomial regression: build the feature matrix with torch.cat and fit with Adam.
import torch

torch.manual_seed(3)


def make_features(x, degree=3):
    x = x.unsqueeze(1)
    return torch.cat([x ** i for i in range(1, degree + 1)], 1)


x = torch.rand(64) * 4 - 2
y = 0.5 * x ** 3 - x ** 2 + 2.0 + 0.1 * torch.randn(64)
X = make_features(x)
print(X.shape)

fc = torch.nn.Linear(3, 1)
opt = torch.optim.Adam(fc.parameters(), lr=0.05)
for step in range(300):
    opt.zero_grad()
    out = fc(X).squeeze(1)
    loss = torch.nn.functional.mse_loss(out, y)
    loss.backward()
    opt.step()
    if step % 100 == 99:
        print(f"step {step + 1}: loss {loss.item():.4f}")

coefs = fc.weight.data.view(-1)
terms = [f"{c:+.2f}*x^{i + 1}" for i, c in enumerate(coefs.tolist())]
print("y = " + " ".join(terms) + f" {fc.bias.item():+.2f}")
