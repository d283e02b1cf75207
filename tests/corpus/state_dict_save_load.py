# Save a model's state_dict with torch.save and load it into a fresh model.
import torch
import torch.nn as nn


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(3, 5)
        self.out = nn.Linear(5, 2)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x)))


torch.manual_seed(20)
model = TinyNet()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x = torch.randn(10, 3)
y = torch.randint(0, 2, (10,))
for _ in range(10):
    opt.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()

for key, value in model.state_dict().items():
    print(key, tuple(value.shape))
torch.save(model.state_dict(), "tinynet.pt")

restored = TinyNet()
print("before load equal:", torch.allclose(model(x), restored(x)))
restored.load_state_dict(torch.load("tinynet.pt"))
restored.eval()
with torch.no_grad():
    print("after load equal:", torch.allclose(model(x), restored(x)))
    print(restored(x[:2]))
