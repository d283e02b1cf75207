# Embedding lookups, padding_idx and a bag-of-words average.
import torch
import torch.nn as nn

torch.manual_seed(27)
vocab = ["<pad>", "the", "cat", "sat", "on", "mat"]
word_to_ix = {w: i for i, w in enumerate(vocab)}
emb = nn.Embedding(len(vocab), 4, padding_idx=0)
print(emb)
print(emb.weight.shape)
print(emb.weight[0])

sentence = "the cat sat on the mat".split()
ids = torch.tensor([word_to_ix[w] for w in sentence], dtype=torch.long)
print(ids)
vectors = emb(ids)
print(vectors.shape)
print(torch.equal(vectors[0], vectors[4]))

batch = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0]])
e = emb(batch)
lengths = (batch != 0).sum(dim=1, keepdim=True)
mean = e.sum(dim=1) / lengths
print(lengths.squeeze(1))
print(mean)

classifier = nn.Linear(4, 2)
loss = nn.functional.cross_entropy(classifier(mean), torch.tensor([0, 1]))
loss.backward()
print(emb.weight.grad[0])
print(emb.weight.grad.abs().sum(dim=1) > 0)
