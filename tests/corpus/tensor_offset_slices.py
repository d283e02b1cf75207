import torch
torch.manual_seed(3)
data = torch.arange(100) * 3 % 17
block_size, batch_size = 6, 4

def get_batch():
    ix = torch.randint(len(data) - block_size, (batch_size,))
    x = torch.stack([data[i:i + block_size] for i in ix])
    y = torch.stack([data[i + 1:i + block_size + 1] for i in ix])
    return x, y

for step in range(3):
    xb, yb = get_batch()
    print(xb)
    print(yb)
m = torch.randn(20, 3, requires_grad=True)
j = torch.randint(10, (2,))
s = torch.stack([m[k + 2:k + 8:2] for k in j])
print(s.shape)
s.sum().backward()
print(m.grad.sum(dim=1))
