from broken import f
print(f(2))
