X = 1
def g(:
    pass
