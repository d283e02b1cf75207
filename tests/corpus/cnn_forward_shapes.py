# A small CNN: print the shape after every layer and count the parameters.
import torch
import torch.nn as nn

torch.manual_seed(6)


class SimpleCNN(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(8, 16, kernel_size=3, padding=1)
        self.fc = nn.Linear(16 * 7 * 7, num_classes)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        print("after conv1/pool:", x.shape)
        x = self.pool(torch.relu(self.conv2(x)))
        print("after conv2/pool:", x.shape)
        x = x.view(x.size(0), -1)
        print("flattened:", x.shape)
        return self.fc(x)


model = SimpleCNN()
images = torch.randn(4, 1, 28, 28)
out = model(images)
print("output:", out.shape)
total = sum(p.numel() for p in model.parameters())
trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
print(f"total params: {total:,}, trainable: {trainable:,}")
for name, p in model.named_parameters():
    print(f"{name:15s} {tuple(p.shape)}")
print(out[0])
