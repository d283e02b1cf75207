from tinytorch.text.tokenization import BPETokenizer
tok = BPETokenizer(100)
tok.train(["one", "two", 3])
