# Softmax and cross-entropy by hand, checked against torch's versions.
import torch
import torch.nn.functional as F


def softmax(x):
    e = torch.exp(x - x.max(dim=1, keepdim=True).values)
    return e / e.sum(dim=1, keepdim=True)


def cross_entropy(logits, targets):
    log_probs = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    return -log_probs[range(len(targets)), targets].mean()


torch.manual_seed(25)
logits = torch.randn(4, 5)
targets = torch.tensor([1, 0, 4, 2])
p = softmax(logits)
print(p)
print(p.sum(dim=1))
print(torch.allclose(p, F.softmax(logits, dim=1)))
mine = cross_entropy(logits, targets)
theirs = F.cross_entropy(logits, targets)
print(f"{mine.item():.5f} {theirs.item():.5f}")

big = torch.tensor([[1000.0, 1001.0, 1002.0]])
print(softmax(big))
print(torch.exp(big) / torch.exp(big).sum())
temps = [0.5, 1.0, 2.0]
for T in temps:
    print(T, F.softmax(torch.tensor([1.0, 2.0, 3.0]) / T, dim=0))
