"""Training: the only package that touches TRL.

- ``grpo_trainer.EnhancedGRPOTrainer``: TRL's GRPOTrainer plus reject sampling and real-time eval
- ``reject_sampling``: the pure decision logic (no torch)
- ``batch_ops``: splicing rows of TRL's generation batch
- ``realtime_eval``: eval-during-training with the training rewards
- ``metrics.MetricsCallback``: ``metrics.jsonl`` plus plain metric events for the dashboard

Nothing heavy is imported here; attributes below load their module on first use.
"""

_LAZY = {
    "EnhancedGRPOTrainer": "r1cli.training.grpo_trainer",
    "MetricsCallback": "r1cli.training.metrics",
    "read_metrics": "r1cli.training.metrics",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'r1cli.training' has no attribute {name!r}")
