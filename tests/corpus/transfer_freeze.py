# Freeze a "pretrained" feature extractor and train only a new head.
import torch
import torch.nn as nn

torch.manual_seed(35)
features = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 20), nn.ReLU())
for param in features.parameters():
    param.requires_grad = False
classifier = nn.Linear(20, 3)
model = nn.Sequential(features, classifier)

n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
n_total = sum(p.numel() for p in model.parameters())
print(f"trainable {n_trainable} / total {n_total}")

optimizer = torch.optim.Adam(filter(lambda p: p.requires_grad, model.parameters()), lr=0.01)
x = torch.randn(30, 10)
y = torch.randint(0, 3, (30,))
frozen_before = features[0].weight.clone()
for epoch in range(20):
    optimizer.zero_grad()
    loss = nn.CrossEntropyLoss()(model(x), y)
    loss.backward()
    optimizer.step()
print(f"loss {loss.item():.4f}")
print("frozen unchanged:", torch.equal(frozen_before, features[0].weight))
print("frozen grad:", features[0].weight.grad)
print("head grad shape:", classifier.weight.grad.shape)
