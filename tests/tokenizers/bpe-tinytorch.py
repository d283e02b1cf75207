# BPETokenizer on the examples of TinyTorch's own module: merges, ids, the helpers
# (create_tokenizer, tokenize_dataset) and the compression statistics the module prints.
from tinytorch.text.tokenization import BPETokenizer, CharTokenizer, create_tokenizer, tokenize_dataset, analyze_tokenization

tok = BPETokenizer(vocab_size=20)
print(tok.vocab_size, tok.vocab, tok.merges, tok.token_to_id, tok.id_to_token)
print(tok.encode("hello"), repr(tok.decode([1, 2])))
corpus = ["hello", "world", "hello", "hell"]
tok.train(corpus)
print(tok.vocab)
print(tok.merges)
print(tok.token_to_id)
print(tok.id_to_token)
print(tok._get_word_tokens("test"), tok._get_word_tokens(""))
print(tok._apply_merges(['h', 'e', 'l', 'l', 'o</w>']), tok._apply_merges(['w', 'o', 'r', 'l', 'd', '</w>']))
for word in corpus + ["help", "yellow", "hello world"]:
    ids = tok.encode(word)
    print(word, ids, repr(tok.decode(ids)))
print(tok.encode("  hello \t world\n\nhell  "), repr(tok.decode([13, 0, 17, 999, 5])))

training_corpus = [
    "Natural language processing",
    "Machine learning models",
    "Neural networks learn",
    "Tokenization enables text processing",
    "Embeddings represent meaning",
]
char_tok = create_tokenizer("char", corpus=training_corpus)
bpe_tok = create_tokenizer("bpe", vocab_size=200, corpus=training_corpus)
print(char_tok.vocab_size, len(bpe_tok.vocab), bpe_tok.vocab_size, len(bpe_tok.merges))
print(bpe_tok.vocab[-12:])
test_text = "Neural language models"
print(char_tok.decode(char_tok.encode(test_text)) == test_text)
print(bpe_tok.encode(test_text), bpe_tok.decode(bpe_tok.encode(test_text)))
test_dataset = ["hello world", "tokenize this", "neural networks"]
print(tokenize_dataset(test_dataset, char_tok, max_length=8))
print(tokenize_dataset(test_dataset, bpe_tok, max_length=3))
print(tokenize_dataset(test_dataset, bpe_tok))
print(tokenize_dataset(test_dataset, bpe_tok, max_length=-2))
print(analyze_tokenization(test_dataset, char_tok))
print(analyze_tokenization(test_dataset, bpe_tok))
print(analyze_tokenization([], bpe_tok))

# the module's comparison table
corpus = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog",
    "Machine learning is transforming artificial intelligence",
    "Tokenization is fundamental to natural language processing",
    "Subword units balance vocabulary size and sequence length",
]
strategies = [
    ("Character", create_tokenizer("char", corpus=corpus)),
    ("BPE-100", create_tokenizer("bpe", vocab_size=100, corpus=corpus)),
    ("BPE-500", create_tokenizer("bpe", vocab_size=500, corpus=corpus)),
]
print(f"{'Strategy':<12} {'Vocab':<8} {'Avg Len':<8} {'Compression':<12} {'Coverage':<10}".rstrip())
print("-" * 60)
for name, t in strategies:
    stats = analyze_tokenization(corpus, t)
    line = (f"{name:<12} {stats['vocab_size']:<8} "
            f"{stats['avg_sequence_length']:<8.1f} "
            f"{stats['compression_ratio']:<12.2f} "
            f"{stats['unique_tokens']:<10}")
    print(line.rstrip())
