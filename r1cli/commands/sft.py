"""`r1 sft RECIPE`: train with supervised fine-tuning (completion-only loss), with a live dashboard."""

from r1cli.commands._train import training_command

sft = training_command("sft", "Supervised fine-tuning, as a format cold start before GRPO: dashboard, metrics, checkpoints.")
