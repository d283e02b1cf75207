import cyc_a
print(cyc_a.A)
