from tinytorch.text.tokenization import BPETokenizer
tok = BPETokenizer(30)
tok.train("a b c ab ab".split())
tok.merges.append(("a",))
print(tok.encode("ab"))
