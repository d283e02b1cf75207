from __future__ import annotations

import torch

from model import GPT, GPTConfig
import model
import model as m2
import utils as u
from utils import *
from pkg.layers import Block
import pkg.layers
from pkg import layers, VERSION
from nspkg.helpers import count


def main():
    torch.manual_seed(0)
    config = GPTConfig()
    net = GPT(config)
    idx = torch.tensor([[1, 2, 3]])
    logits = net(idx)
    print(logits.shape)
    print(logits[0, 0, :4])
    print(model.GPT is GPT, m2 is model, model.N_EMBD_DEFAULT)
    print(describe("gpt", count(net)))
    print(u.scale(2.0))
    print(scale(1.0) == u.scale(1.0))
    b = Block(4)
    c = pkg.layers.Block(4)
    print(isinstance(b, layers.Block), VERSION, pkg.VERSION)
    print(b(torch.ones(1, 4)).shape, c.fc.weight.shape)
    model.N_EMBD_DEFAULT = 3
    print(model.N_EMBD_DEFAULT, u.scale(1.0) == scale(1.0))
    print(__name__, model.__name__, pkg.layers.__name__)


if __name__ == "__main__":
    main()
