"""VQI engine: learn "good" from defect-free images, score new ones, localise defects.

Importing the package before torch asks torch's CPU allocator for transparent huge pages on large tensors
(``THP_MEM_ALLOC_ENABLE=1``, unless the environment already sets it; read by torch at its first allocation):
with the kernel's usual ``madvise`` setting, every large feature map is otherwise faulted in 4 KiB at a time.
"""

import os

os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")

__version__ = "0.1.0"
