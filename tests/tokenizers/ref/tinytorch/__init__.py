"""The part of TinyTorch's package that tests/tokenizers.sh needs: its tokenizers.

A reference for ttc's frontend/tokenizers.c, written from the semantics of TinyTorch's module
10 (tinytorch/text/tokenization.py); python3 runs the test programs with this folder's parent
on sys.path to produce their expected output."""
from .text.tokenization import Tokenizer, CharTokenizer, BPETokenizer
