# Characters the vocabulary lacks encode as unk_id; ids it lacks decode as '<UNK>'. The
# methods read the tokenizer's attributes when called, so changing them changes the result.
from tinytorch import CharTokenizer, Tokenizer

tok = CharTokenizer()
tok.build_vocab(["hello world"])
print(tok.vocab)
print(tok.encode("hello, world!"))
print(tok.encode(""), repr(tok.decode([])))
print(tok.decode([1, 2, 99, -1, 0, 3]))
print(tok.decode([True, 2.0, 3.5, "x", None, (1, 2)]))
print(tok.decode((4, 5, 6)))
print(tok.encode(['h', 'e', 'll', '<UNK>', 'zz']))

tok.unk_id = -7
print(tok.encode("hex"))
tok.char_to_id['x'] = 42
tok.id_to_char[42] = 'X!'
print(tok.encode("hex"), tok.decode(tok.encode("hex")))
tok.char_to_id = {'h': 1000}
print(tok.encode("hh?"))
print(isinstance(tok, CharTokenizer), isinstance(tok, Tokenizer), tok.vocab_size)

# build_vocab takes any list of texts; a str is taken character by character
tok.build_vocab("cab")
print(tok.vocab, tok.char_to_id, tok.encode("abcd"))
tok.build_vocab([["ab", "c"], "d"])
print(tok.vocab, tok.encode("abcd"), tok.encode(["ab", "c"]))
tok.build_vocab([])
print(tok.vocab, tok.vocab_size, tok.encode("abc"))
