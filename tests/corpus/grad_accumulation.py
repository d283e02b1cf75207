# Gradient accumulation: four micro-batches give the same gradient as one big batch.
import torch
import torch.nn as nn

torch.manual_seed(24)
model = nn.Linear(6, 1)
X = torch.randn(32, 6)
y = torch.randn(32, 1)
criterion = nn.MSELoss()

model.zero_grad()
criterion(model(X), y).backward()
full_grad = model.weight.grad.clone()

model.zero_grad()
accum_steps = 4
for i in range(accum_steps):
    xb = X[i * 8:(i + 1) * 8]
    yb = y[i * 8:(i + 1) * 8]
    loss = criterion(model(xb), yb) / accum_steps
    loss.backward()
print(torch.allclose(full_grad, model.weight.grad, atol=1e-6))
print(full_grad)

optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
optimizer.zero_grad()
for step, start in enumerate(range(0, 32, 8)):
    loss = criterion(model(X[start:start + 8]), y[start:start + 8]) / accum_steps
    loss.backward()
    if (step + 1) % accum_steps == 0:
        optimizer.step()
        optimizer.zero_grad()
        print(f"update after step {step}")
print(f"{criterion(model(X), y).item():.4f}")

t = torch.tensor(1.0, requires_grad=True)
for _ in range(3):
    (t * 2).backward()
print(t.grad)
