from tinytorch.text.tokenization import CharTokenizer
tok = CharTokenizer("abc")
