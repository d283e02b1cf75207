from tinytorch.text.tokenization import CharTokenizer
tok = CharTokenizer()
tok.build_vocab(["abc"])
tok.id_to_char[2] = 98
print(tok.decode([1, 2, 3]))
