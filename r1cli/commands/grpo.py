"""`r1 grpo RECIPE`: train with GRPO (reject sampling, real-time eval), with a live dashboard; on several GPUs with --num-processes."""

from r1cli.commands._train import training_command

grpo = training_command("grpo", "Train a recipe with GRPO: live dashboard, metrics.jsonl, checkpoints, final model.")
