# The rules that decide BPE's ids: a pair counts once per word holding it (times the word's
# count); ties go to the pair met first (the first word holding it, its leftmost place);
# a merge joins left to right without overlap; vocab_size counts '<UNK>' and the initial
# tokens; equal strings made by different merges are both in the vocabulary.
from tinytorch.text.tokenization import BPETokenizer

def show(tok):
    print(len(tok.vocab), tok.vocab_size, tok.merges)

tok = BPETokenizer(12)
tok.train(["abab", "ba", "ab"])  # (a,b) is in two words, (b,a) in two: (a,b) is met first
show(tok)
tok = BPETokenizer(12)
tok.train(["ba", "abab", "ab"])  # now (b,a) is met first
show(tok)
tok = BPETokenizer(9)
tok.train(["aaaa", "aaa", "aa"])  # runs of one letter: left to right, no overlap
show(tok)
print(tok.encode("a aa aaa aaaa aaaaa"), tok._apply_merges(list("aaaaa")))
tok = BPETokenizer(30)
tok.train(["xyzxyz"] * 3 + ["zx"] * 5)
show(tok)
print(tok.encode("xyzxyzxyz zx zxy"))

# a vocabulary smaller than the initial tokens: no merges
tok = BPETokenizer(3)
tok.train(["hello", "world"])
show(tok)
print(tok.vocab, tok.encode("hello there"))
# vocab_size given to train replaces the target; 0 and None leave it
tok.train(["hello", "world", "hello"], 14)
show(tok)
tok.train(["hello", "world", "hello"], 0)
show(tok)
tok = BPETokenizer(1e3)
tok.train(["banana", "bandana", "ban"])
show(tok)
print(tok.vocab)
# a str corpus: each character is a word
tok = BPETokenizer(50)
tok.train("hello")
show(tok)
print(tok.vocab, tok.encode("hello oh"))
# an empty corpus, and empty words
tok = BPETokenizer(10)
tok.train([])
print(tok.vocab, tok.merges, tok.encode("anything"), repr(tok.decode([0, 0])))
tok.train(["", "", "a"])
print(tok.vocab, tok.encode("a b"), repr(tok.decode([1, 0])))

# characters of '</w>' in the text: the string 'a</w>' is made by merges too
tok = BPETokenizer(40)
tok.train(["a</w>b", "a</w>b", "a", "xa", "a</w>", "ba</w>"] * 3 + ["a<"])
print(tok.vocab)
print(tok.merges)
print(tok.token_to_id)
ids = tok.encode("a</w>b a xa a</w>a</w> a<a<")
print(ids, repr(tok.decode(ids)))
# whitespace: str.split()'s separators, Unicode's included
tok = BPETokenizer(30)
tok.train("la la\u00a0la\u2003lala\tla\nla\x1cla".split())
show(tok)
print(tok.encode("lala\u3000la\x0bla  "), tok.decode(tok.encode("la\u2028lala")))
# self.merges and self.token_to_id are read when encode runs
tok.merges = tok.merges[:1]
print(tok.encode("lala la"))
tok.token_to_id = {'la</w>': 7}
print(tok.encode("lala la"))
