# An LSTM reading random sequences; a linear head on the last hidden state.
import torch
import torch.nn as nn

torch.manual_seed(31)


class SeqClassifier(nn.Module):
    def __init__(self, input_size, hidden_size, num_classes):
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        out, (h_n, c_n) = self.lstm(x)
        return self.fc(out[:, -1, :])


model = SeqClassifier(3, 6, 2)
x = torch.randn(4, 5, 3)
y = (x.sum(dim=(1, 2)) > 0).long()
out, (h, c) = model.lstm(x)
print(out.shape, h.shape, c.shape)
optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
for epoch in range(20):
    optimizer.zero_grad()
    loss = nn.CrossEntropyLoss()(model(x), y)
    loss.backward()
    optimizer.step()
    if epoch % 5 == 0:
        print(f"epoch {epoch}: loss {loss.item():.4f}")
print(model(x).argmax(1), y)
