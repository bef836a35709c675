"""r1: train reasoning language models with GRPO on the Hugging Face stack.

Importing this package is cheap on purpose: nothing heavy (torch, transformers,
trl, datasets) is imported here, so `r1 --help`, `r1 validate`, `r1 init` and
`r1 score` start fast. Heavy objects are reachable lazily through
``__getattr__`` (for example ``from r1cli import EnhancedGRPOTrainer``).

Architecture: imports go down these layers, lowest first: (0) errors, paths,
hardware, files, run_dir; (1) rewards, data; (2) config, models; (3) scoring,
evaluation, training, reporting, doctor; (4) ui; (5) commands, cli, docs, __main__.
Between packages of one layer only the intended pairs: config uses models
(validation), evaluation uses scoring (eval scores as `r1 score` does),
training uses evaluation (real-time eval's generation) and doctor (the
training doctor's live callback), and doctor reads the phase-timing metric
names of training/phases.py. ``ui`` never imports
``training``: they share plain metric events. There are no import cycles,
counting imports inside functions. tests/test_architecture.py holds the table
and checks it.
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
