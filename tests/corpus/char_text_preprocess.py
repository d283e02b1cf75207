# Character-level text preprocessing: vocabulary, encode/decode, bigram counts.
import torch

text = "hello world. hello pytorch. to be or not to be."
chars = sorted(list(set(text)))
vocab_size = len(chars)
print("vocab:", "".join(chars))
print("vocab size:", vocab_size)
stoi = {ch: i for i, ch in enumerate(chars)}
itos = {i: ch for ch, i in stoi.items()}


def encode(s):
    return [stoi[c] for c in s]


def decode(ids):
    return "".join(itos[i] for i in ids)


data = torch.tensor(encode(text), dtype=torch.long)
print(data.shape, data.dtype)
print(data[:10])
print(decode(data[:11].tolist()))

N = torch.zeros((vocab_size, vocab_size), dtype=torch.int32)
for c1, c2 in zip(text, text[1:]):
    N[stoi[c1], stoi[c2]] += 1
print(N.sum().item())
row = N[stoi["o"]]
print("after 'o':", {itos[i]: int(n) for i, n in enumerate(row) if n > 0})

block_size = 4
x = torch.stack([data[i:i + block_size] for i in range(3)])
y = torch.stack([data[i + 1:i + block_size + 1] for i in range(3)])
print(x)
print(y)
