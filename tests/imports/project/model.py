# model.py: the model, as a project keeps it beside its training script
import torch
import torch.nn as nn
import torch.nn.functional as F

print("model.py runs once, as", __name__)

N_EMBD_DEFAULT = 8


class GPTConfig:
    def __init__(self, vocab_size=11, n_embd=N_EMBD_DEFAULT, block_size=4):
        self.vocab_size = vocab_size
        self.n_embd = n_embd
        self.block_size = block_size


class GPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.head = nn.Linear(config.n_embd, config.vocab_size)

    def forward(self, idx):
        return self.head(F.relu(self.wte(idx)))


def _private_helper():
    return "hidden"


if __name__ == "__main__":
    print("model.py as a script: never printed when imported")
