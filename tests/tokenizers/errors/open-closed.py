with open("open-closed.py") as f:
    head = f.readline()
text = f.read()
