def count(model):
    return sum(p.numel() for p in model.parameters())
