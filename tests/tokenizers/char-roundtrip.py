# CharTokenizer as TinyTorch's module 10 builds it: '<UNK>' is id 0, then the corpus's
# characters in code point order; encode and decode are inverses on seen characters.
import torch
from tinytorch.text.tokenization import CharTokenizer

tok = CharTokenizer()
print(tok.vocab, tok.vocab_size, tok.char_to_id, tok.id_to_char, tok.unk_id)
text = "To be, or not to be: that is the question.\nWhether 'tis nobler in the mind to suffer"
tok.build_vocab([text])
print(tok.vocab_size)
print(tok.vocab)
ids = tok.encode(text)
print(len(ids), ids[:24])
print(tok.decode(ids) == text)
print(repr(tok.decode(ids[:15])))

# several texts, and characters outside ASCII (two-, three- and four-byte UTF-8)
tok.build_vocab(["naïve café", "日本語のテキスト", "emoji 😀 and ✓", "zzz"])
print(tok.vocab)
print(tok.encode("café 😀 日本"), tok.decode(tok.encode("café 😀 日本")))

# an explicit vocabulary: ids follow the list, '<UNK>' first
tok2 = CharTokenizer(['h', 'e', 'l', 'o', ' ', 'w', 'r', 'd'])
print(tok2.vocab_size, tok2.encode("hello world"), tok2.decode([1, 2, 3, 3, 4]))
# a repeated entry keeps its first place in char_to_id with its last id
tok3 = CharTokenizer(['a', 'b', 'a', '<UNK>'])
print(tok3.vocab, tok3.char_to_id, tok3.id_to_char)
print(tok3.encode("abc<"), tok3.decode([0, 1, 2, 3, 4]))

# ids are ordinary ints: a tensor of them is an ordinary constant
x = torch.tensor(tok2.encode("hello world"), dtype=torch.long)
print(x, x.dtype, x.shape)
print(torch.tensor(tok.encode("zz"), dtype=torch.long).sum().item())
