"""Evaluation: batched generation shared by `r1 eval` and the trainer's real-time eval.

Importing this package is cheap (torch loads when ``generate`` runs).
"""

from r1cli.evaluation.generation import Completion, GenerationProgress, generate, render_prompt

__all__ = ["Completion", "GenerationProgress", "generate", "render_prompt"]
