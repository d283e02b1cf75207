print("pkg/__init__.py runs, as", __name__)
VERSION = "0.1"
