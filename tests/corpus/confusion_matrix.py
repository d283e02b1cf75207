# A confusion matrix, precision and recall computed with loops and with tensors.
import torch

torch.manual_seed(39)
num_classes = 3
y_true = torch.randint(0, num_classes, (30,))
noise = torch.randint(0, num_classes, (30,))
y_pred = torch.where(torch.rand(30) < 0.7, y_true, noise)

cm = torch.zeros(num_classes, num_classes, dtype=torch.int64)
for t, p in zip(y_true, y_pred):
    cm[t, p] += 1
print(cm)
print("total:", cm.sum().item())

tp = cm.diag()
precision = tp.float() / cm.sum(dim=0).float()
recall = tp.float() / cm.sum(dim=1).float()
f1 = 2 * precision * recall / (precision + recall)
for c in range(num_classes):
    print(f"class {c}: precision {precision[c]:.3f} recall {recall[c]:.3f} f1 {f1[c]:.3f}")
print(f"accuracy {tp.sum().item() / len(y_true):.3f}")

cm2 = torch.bincount(y_true * num_classes + y_pred, minlength=num_classes ** 2)
print(torch.equal(cm2.reshape(num_classes, num_classes), cm))
