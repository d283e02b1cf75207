# Several ways people compute classification accuracy.
import torch

torch.manual_seed(21)
logits = torch.randn(10, 4)
y = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3, 0, 1])

pred = logits.argmax(1)
print("predictions:", pred)
acc = (pred == y).float().mean()
print("accuracy:", acc)
print(f"accuracy: {acc.item():.2f}")

correct = (pred == y).sum().item()
print(f"{correct}/{len(y)} correct")

_, predicted = torch.max(logits.data, 1)
print("same as argmax:", torch.equal(predicted, pred))

probs = torch.softmax(logits, dim=1)
top2 = probs.topk(2, dim=1).indices
top2_acc = (top2 == y.unsqueeze(1)).any(dim=1).float().mean()
print(f"top-2 accuracy: {top2_acc:.1%}")

for c in range(4):
    mask = y == c
    class_acc = (pred[mask] == y[mask]).float().mean().item()
    print(f"class {c}: {class_acc:.2f}")
