# BPE training on about 2 MB of text (most of Debian's fortunes) finishes, and every merge
# and id is python3's (tests/tokenizers/ref, which takes minutes where ttc takes under a
# second). Needs the fortunes package.
from tinytorch.text.tokenization import BPETokenizer, analyze_tokenization

d = "/usr/share/games/fortunes/"
names = ["cookie", "debian", "definitions", "disclaimer", "drugs", "education", "ethnic", "food",
         "fortunes", "goedel", "humorists", "kids", "knghtbrd", "law", "linux", "linuxcookie",
         "literature", "love", "magic", "medicine", "men-women", "miscellaneous", "news",
         "paradoxum", "people", "perl", "pets", "platitudes", "politics", "pratchett", "riddles",
         "science", "sports", "startrek", "tao", "translate-me", "wisdom", "work", "zippy"]
text = ""
for name in names:
    text = text + open(d + name).read()
words = text.split()
print(len(words))

tok = BPETokenizer(1000)
tok.train(words)
print(len(tok.vocab), len(tok.merges))
print(tok.vocab[-40:])
print(tok.merges[-10:])
ids = tok.encode(text)
print(len(ids), sum(ids), max(ids))
print(ids[::4999])
print(tok.decode(ids).split() == words)
stats = analyze_tokenization(text.split("\n")[:4000], tok)  # the first 4000 lines
print(stats)
print(f"{stats['compression_ratio']:.4f} characters per token")
