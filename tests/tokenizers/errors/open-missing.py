from tinytorch.text.tokenization import CharTokenizer
text = open("no-such-corpus.txt").read()
