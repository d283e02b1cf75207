"""TinyTorch's tokenizers (module 10), as a reference for ttc's frontend/tokenizers.c.

Written from the semantics of MLSysBook/TinyTorch's tinytorch/text/tokenization.py and its
module notebook, deliberately plain: every rule below is a rule ttc reproduces.

- CharTokenizer(vocab=None): vocab is ['<UNK>'] + vocab; char_to_id maps each entry to its
  last index; unknown characters encode as unk_id (0); unknown ids decode as '<UNK>'.
  build_vocab(corpus) takes the sorted (code point order) set of the corpus's characters.
- BPETokenizer(vocab_size=1000): train(corpus) takes a list of words (a str is a list of
  one-character words), counts them, starts from the sorted set of each word's characters
  with '</w>' glued to the last one, prefixed by '<UNK>', then merges the most frequent
  adjacent pair until len(vocab) reaches vocab_size. A pair counts once per word that holds
  it (times the word's count), however often it occurs there. Ties go to the pair seen
  first: in the first word (by first occurrence in the corpus) holding it, at its leftmost
  place. (TinyTorch collects a word's pairs in a set, so among pairs first seen in the same
  word its order follows Python's string hashes, which change from run to run; ttc and this
  reference take the leftmost.) A merge joins every occurrence left to right without
  overlap. encode splits on whitespace and applies the merges in order to each word; decode
  joins the tokens, turns '</w>' into spaces and collapses whitespace.
"""


def _mappings(vocab):
    """{token: its last index} and {index: token}, as TinyTorch's dict comprehensions."""
    to_id, to_token = {}, {}
    for i, t in enumerate(vocab):
        to_id[t] = i
        to_token[i] = t
    return to_id, to_token


class Tokenizer:
    def encode(self, text):
        raise NotImplementedError("Subclasses must implement encode()")

    def decode(self, tokens):
        raise NotImplementedError("Subclasses must implement decode()")


class CharTokenizer(Tokenizer):
    def __init__(self, vocab=None):
        if vocab is None:
            vocab = []
        self.vocab = ['<UNK>'] + vocab
        self.vocab_size = len(self.vocab)
        self.char_to_id, self.id_to_char = _mappings(self.vocab)
        self.unk_id = 0

    def build_vocab(self, corpus):
        seen = set()
        for text in corpus:
            for c in text:
                seen.add(c)
        self.vocab = ['<UNK>'] + sorted(seen)
        self.vocab_size = len(self.vocab)
        self.char_to_id, self.id_to_char = _mappings(self.vocab)

    def encode(self, text):
        return [self.char_to_id.get(c, self.unk_id) for c in text]

    def decode(self, tokens):
        return ''.join(self.id_to_char.get(t, '<UNK>') for t in tokens)


def _merge_all(tokens, a, b):
    """Every a followed by b joined into a + b, scanning left to right without overlap."""
    out = []
    i = 0
    while i < len(tokens):
        if i + 1 < len(tokens) and tokens[i] == a and tokens[i + 1] == b:
            out.append(a + b)
            i += 2
        else:
            out.append(tokens[i])
            i += 1
    return out


class BPETokenizer(Tokenizer):
    def __init__(self, vocab_size=1000):
        self.vocab_size = vocab_size
        self.vocab = []
        self.merges = []
        self.token_to_id = {}
        self.id_to_token = {}

    def _get_word_tokens(self, word):
        if not word:
            return []
        tokens = list(word)
        tokens[-1] = tokens[-1] + '</w>'
        return tokens

    def _get_pairs(self, word_tokens):
        # a dict keeps the pairs in the order they first occur (see the module's docstring)
        pairs = {}
        for i in range(len(word_tokens) - 1):
            pairs[(word_tokens[i], word_tokens[i + 1])] = True
        return list(pairs)

    def train(self, corpus, vocab_size=None):
        if vocab_size:
            self.vocab_size = vocab_size
        counts = {}  # word -> count, in first-occurrence order
        for word in corpus:
            counts[word] = counts.get(word, 0) + 1
        words = {w: self._get_word_tokens(w) for w in counts}
        initial = set()
        for toks in words.values():
            initial.update(toks)
        self.vocab = sorted(initial)
        if '<UNK>' not in self.vocab:
            self.vocab = ['<UNK>'] + self.vocab
        self.merges = []
        while len(self.vocab) < self.vocab_size:
            pair_counts = {}  # first seen first
            for w, n in counts.items():
                for p in self._get_pairs(words[w]):
                    pair_counts[p] = pair_counts.get(p, 0) + n
            if not pair_counts:
                break
            best, best_n = None, 0
            for p, n in pair_counts.items():
                if n > best_n:
                    best, best_n = p, n
            for w in words:
                words[w] = _merge_all(words[w], best[0], best[1])
            self.vocab.append(best[0] + best[1])
            self.merges.append(best)
        self._build_mappings()

    def _build_mappings(self):
        self.token_to_id, self.id_to_token = _mappings(self.vocab)

    def _apply_merges(self, tokens):
        for a, b in self.merges:
            tokens = _merge_all(tokens, a, b)
        return tokens

    def encode(self, text):
        if not self.vocab:
            return []
        ids = []
        done = {}  # a word's ids, as merging it again would give them
        for word in text.split():
            if word not in done:
                done[word] = [self.token_to_id.get(t, 0)
                              for t in self._apply_merges(self._get_word_tokens(word))]
            ids.extend(done[word])
        return ids

    def decode(self, tokens):
        if not self.id_to_token:
            return ""
        text = ''.join(self.id_to_token.get(t, '<UNK>') for t in tokens)
        return ' '.join(text.replace('</w>', ' ').split())


def create_tokenizer(strategy="char", vocab_size=1000, corpus=None):
    if strategy == "char":
        tok = CharTokenizer()
        if corpus:
            tok.build_vocab(corpus)
    elif strategy == "bpe":
        tok = BPETokenizer(vocab_size=vocab_size)
        if corpus:
            tok.train(corpus, vocab_size)
    else:
        raise ValueError(f"Unknown tokenization strategy: '{strategy}'")
    return tok


def tokenize_dataset(texts, tokenizer, max_length=None):
    out = []
    for text in texts:
        ids = tokenizer.encode(text)
        if max_length and len(ids) > max_length:
            ids = ids[:max_length]
        out.append(ids)
    return out


def analyze_tokenization(texts, tokenizer):
    lengths = [len(tokenizer.encode(t)) for t in texts]
    total_chars = sum(len(t) for t in texts)
    total = sum(lengths)
    unique = set()
    for t in texts:
        unique.update(tokenizer.encode(t))
    return {
        'vocab_size': tokenizer.vocab_size,
        'avg_sequence_length': sum(lengths) / len(lengths) if lengths else float('nan'),
        'max_sequence_length': max(lengths) if lengths else 0,
        'total_tokens': total,
        'compression_ratio': total_chars / total if total else 0,
        'unique_tokens': len(unique),
    }
