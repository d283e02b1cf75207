from tinytorch.text.tokenization import BPETokenizer
tok = BPETokenizer("large")
