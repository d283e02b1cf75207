import torch
import torch.nn as nn
from collections import OrderedDict

torch.manual_seed(0)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.ModuleDict(dict(
            emb=nn.Embedding(5, 4),
            h=nn.ModuleList([nn.Linear(4, 4) for _ in range(2)]),
            ln=nn.LayerNorm(4),
        ))
        self.heads = nn.ModuleDict([("a", nn.Linear(4, 2)), ("b", nn.Linear(4, 3))])
        self.extra = nn.ModuleDict(OrderedDict(z=nn.ReLU()))
    def forward(self, idx):
        x = self.body.emb(idx)
        for layer in self.body['h']:
            x = layer(x)
        x = self.body["ln"](x)
        return [self.heads[k](x).sum() for k in self.heads]

net = Net()
print(net)
print(len(net.body), list(net.body.keys()), 'emb' in net.body, 'zz' in net.body)
for k, m in net.heads.items():
    print(k, m)
print([type(m).__name__ for m in net.body.values()])
for n, p in net.named_parameters():
    print(n, tuple(p.shape))
print(list(net.state_dict().keys()))
out = net(torch.tensor([1, 2, 3]))
print([round(o.item(), 4) for o in out])
empty = nn.ModuleDict()
print(len(empty), empty)
