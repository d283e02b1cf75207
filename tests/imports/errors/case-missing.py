import torch
import nosuch_module_xyz
print(1)
