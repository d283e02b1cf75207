# A fully connected autoencoder compressing 20-d data that lives on a 3-d subspace.
import torch
import torch.nn as nn

torch.manual_seed(8)
latent = torch.randn(256, 3)
mixing = torch.randn(3, 20)
data = latent @ mixing


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(20, 10), nn.Tanh(), nn.Linear(10, 3))
        self.decoder = nn.Sequential(nn.Linear(3, 10), nn.Tanh(), nn.Linear(10, 20))

    def forward(self, x):
        z = self.encoder(x)
        return self.decoder(z)


model = AutoEncoder()
print(model)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
loss_fn = nn.MSELoss()
for epoch in range(100):
    recon = model(data)
    loss = loss_fn(recon, data)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if epoch % 25 == 0:
        print(f"epoch {epoch}: reconstruction loss {loss.item():.4f}")

with torch.no_grad():
    codes = model.encoder(data[:2])
print(codes.shape)
