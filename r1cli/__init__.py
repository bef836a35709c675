"""r1: train reasoning language models with GRPO on the Hugging Face stack.

Importing this package is cheap on purpose: nothing heavy (torch, transformers,
trl, datasets) is imported here, so `r1 --help`, `r1 validate`, `r1 init` and
`r1 score` start fast. Heavy objects are reachable lazily through
``__getattr__`` (for example ``from r1cli import EnhancedGRPOTrainer``).
"""

__version__ = "0.1.0"

# name -> "module:attribute", imported on first access only.
_LAZY = {
    "EnhancedGRPOTrainer": "r1cli.training.grpo_trainer:EnhancedGRPOTrainer",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, _, attr = _LAZY[name].partition(":")
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'r1cli' has no attribute {name!r}")
