from tinytorch.text.tokenization import CharTokenizer
tok = CharTokenizer()
tok.build_vocab(["abc"])
print(tok.encode(42))
