from tinytorch.text.tokenization import create_tokenizer
tok = create_tokenizer("word", corpus=["a b"])
