from tinytorch.text.tokenization import Tokenizer
tok = Tokenizer()
print(tok.encode("hello"))
