from tinytorch.text.tokenization import BPETokenizer
tok = BPETokenizer(30)
tok.train("a b c ab ab".split())
print(tok.encode(["ab", "c"]))
