# Check the convolution output-size formula against real layers.
import torch
import torch.nn as nn


def conv_out(size, kernel, stride=1, padding=0):
    return (size + 2 * padding - kernel) // stride + 1


x = torch.randn(1, 3, 32, 32)
configs = [(3, 1, 0), (3, 1, 1), (5, 2, 2), (4, 2, 1), (7, 3, 0)]
for k, s, p in configs:
    conv = nn.Conv2d(3, 6, kernel_size=k, stride=s, padding=p)
    out = conv(x)
    expected = conv_out(32, k, s, p)
    print(f"k={k} s={s} p={p}: {tuple(out.shape)} formula {expected} ok={out.shape[-1] == expected}")

pool = nn.MaxPool2d(kernel_size=2, stride=2)
print(pool(x).shape)
print(nn.AvgPool2d(4)(x).shape)
print(nn.AdaptiveAvgPool2d((1, 1))(x).shape)
conv = nn.Conv2d(3, 16, 3)
print(conv.weight.shape, conv.bias.shape)
print(sum(p.numel() for p in conv.parameters()))
