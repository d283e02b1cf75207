# BPE trained on real text (Debian's fortunes), as TinyTorch's module trains it on words:
# the merges and every id must be python3's, and decode(encode(text)) gives the text back
# with its whitespace made single spaces. Needs the fortunes package.
import torch
from tinytorch.text.tokenization import BPETokenizer, CharTokenizer, analyze_tokenization

d = "/usr/share/games/fortunes/"
with open(d + "science") as f:
    text = f.read()
text = text + open(d + "wisdom").read()
words = text.split()
print(len(words))

tok = BPETokenizer(vocab_size=600)
tok.train(words)
print(len(tok.vocab), len(tok.merges))
print(tok.vocab[:40])
print(tok.vocab[-30:])
print(tok.merges[:10])

held_out = open(d + "magic").read()  # text it was not trained on
ids = tok.encode(held_out)
print(len(ids), sum(ids), max(ids), ids[:40])
print(ids[::97])
back = tok.decode(ids)
print(len(back), back.split() == held_out.split(), back[:120])
x = torch.tensor(ids, dtype=torch.long)
print(x.shape, x[:10])

lines = held_out.split("\n")
stats = analyze_tokenization(lines, tok)
print(stats)
char = CharTokenizer()
char.build_vocab([text])
cstats = analyze_tokenization(lines, char)
print(cstats['vocab_size'], cstats['total_tokens'], cstats['unique_tokens'])
print(f"BPE: {stats['total_tokens']} tokens, {stats['compression_ratio']:.3f} chars/token; "
      f"chars: {cstats['total_tokens']} tokens, {cstats['compression_ratio']:.3f} chars/token")
print(char.decode(char.encode(held_out)) == held_out, char.encode(held_out).count(0))
