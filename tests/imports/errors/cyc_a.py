import cyc_b
A = 1
