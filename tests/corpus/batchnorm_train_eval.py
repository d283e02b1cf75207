# BatchNorm1d: running statistics move during training and are used in eval mode.
import torch
import torch.nn as nn

torch.manual_seed(19)
bn = nn.BatchNorm1d(3)
print(bn)
print("initial running mean:", bn.running_mean)
for _ in range(5):
    batch = torch.randn(16, 3) * 2 + torch.tensor([1.0, -1.0, 5.0])
    out = bn(batch)
print("running mean:", bn.running_mean)
print("running var:", bn.running_var)
print("batches tracked:", bn.num_batches_tracked.item())
print("train output is normalized:", out.mean(dim=0).abs().max().item() < 1e-5)
print("train output std:", out.std(dim=0, unbiased=False))

bn.eval()
test = torch.tensor([[1.0, -1.0, 5.0], [0.0, 0.0, 0.0]])
print(bn(test))

model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 1))
print(model.training, model[1].training)
model.eval()
print(model.training, model[1].training)
print(model(test).shape)
