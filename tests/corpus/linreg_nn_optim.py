# Linear regression the nn/optim way.
import torch
import torch.nn as nn

torch.manual_seed(1)
x = torch.linspace(-1, 1, 50).unsqueeze(1)
y = -2.0 * x + 0.5 + 0.05 * torch.randn(x.size())

model = nn.Linear(1, 1)
criterion = nn.MSELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.2)

for epoch in range(100):
    optimizer.zero_grad()
    outputs = model(x)
    loss = criterion(outputs, y)
    loss.backward()
    optimizer.step()
    if (epoch + 1) % 20 == 0:
        print('Epoch [{}/{}], Loss: {:.4f}'.format(epoch + 1, 100, loss.item()))

print("weight:", round(model.weight.item(), 3))
print("bias:", round(model.bias.item(), 3))
with torch.no_grad():
    print(model(torch.tensor([[0.0], [1.0]])))
