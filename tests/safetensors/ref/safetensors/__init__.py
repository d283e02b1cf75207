# A stand-in for the safetensors package (Debian has no python3-safetensors), used only to
# write the tests' expected output: the format of the package's docs, written and read with
# json and struct, and torch. Writes the bytes the package writes (header keys: __metadata__,
# then the tensors in data order; data sorted by dtype, descending, then name; header padded
# with spaces to a multiple of 8).
