# Reads w.safetensors (x: F32 [2, 3], n: I64 [2]); tests/safetensors.sh damages the file
# after building this, and the program must stop with a message naming what is wrong.
from safetensors.torch import load_file

w = load_file("w.safetensors")
print(w["x"], w["n"])
