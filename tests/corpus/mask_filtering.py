# Boolean masks, unique labels and index_put_: filtering and counting as users write it.
import torch

torch.manual_seed(7)
scores = torch.randn(20)
labels = torch.randint(0, 4, (20,))

positive = scores[scores > 0]
print("positive scores:", positive)
print(f"{len(positive)} of {scores.numel()} are positive, mean {positive.mean().item():.4f}")

outliers = torch.masked_select(scores, scores.abs() > 1.5)
print("outliers:", outliers, outliers.shape)

classes, counts = torch.unique(labels, return_counts=True)
print("classes:", classes, "counts:", counts)
print("as lists:", classes.tolist(), counts.tolist())
for c in range(4):
    n = (labels == c).sum().item()
    print(f"class {c}: {n} samples, mean score {scores[labels == c].mean().item():.3f}")

idx = torch.nonzero(labels == 2)
print("rows of class 2:", idx.shape, (labels == 2).nonzero(as_tuple=True)[0])

hist = torch.zeros(4, dtype=torch.long)
hist.index_put_((labels,), torch.ones(20, dtype=torch.long), accumulate=True)
print("histogram:", hist, torch.equal(hist, torch.bincount(labels, minlength=4)))

clipped = scores.clone()
clipped[clipped > 1.0] = 1.0
clipped[labels == 0] *= 2
print("clipped:", clipped)

X = torch.arange(12.).reshape(4, 3)
keep = torch.tensor([True, False, True, True])
print(X[keep], X[keep].sum(dim=0))
X[:, [0, 2]] = 0.0
print(X)
