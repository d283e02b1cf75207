import torch
from tinytorch.text.tokenization import CharTokenizer
tok = CharTokenizer()
tok.build_vocab(["abc"])
print(tok.decode(torch.tensor([1, 2, 3])))
