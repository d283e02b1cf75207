from tinytorch.text.tokenization import BPETokenizer
tok = BPETokenizer(30)
tok.build_vocab(["abc"])
