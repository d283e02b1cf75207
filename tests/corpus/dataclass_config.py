from dataclasses import dataclass
import dataclasses
import torch

@dataclass
class Config:
    n_embd: int
    block_size: int = 16
    name: str = "gpt"
    dropout: float = 0.0

@dataclasses.dataclass
class Other:
    a: int = 1
    b: int = 2
    def total(self):
        return self.a + self.b

x: int = 3
y: float
x += 1
print(x)
c = Config(32, name="tiny")
print(c)
print(c.n_embd, c.block_size, c.name, c.dropout)
print(Config.block_size)
o = Other(b=5)
print(o, o.total())
o.a = 10
print(o.total())
t = torch.zeros(c.n_embd // 8, c.block_size // 8)
print(t.shape)
print(Config(32) == Config(32), Config(32) == Config(64), o != Other(10, 5))
