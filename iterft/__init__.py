"""iterft: iterative finetuning lineages as Inspect AI models.

Import-light on purpose: Inspect imports the entry point (`iterft._registry`) on every run,
so nothing here may import torch or transformers.
"""

__version__ = "0.1.0"

from iterft.errors import IterftError

__all__ = ["IterftError", "__version__"]
