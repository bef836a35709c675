"""`r1 merge ADAPTER_DIR OUTPUT_DIR`: fold a LoRA adapter into its base model, saved as a full checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def merge(
    adapter: Annotated[Path, typer.Argument(help="A LoRA run directory (use_peft: true) or one of its checkpoint-N.",
                                            metavar="ADAPTER_DIR", show_default=False)],
    output: Annotated[Path, typer.Argument(help="Directory for the merged model and its tokenizer.",
                                           metavar="OUTPUT_DIR", show_default=False)],
    dtype: Annotated[str, typer.Option("--dtype", help="Weights dtype of the merged model: auto, bfloat16, float16, "
                                       "float32.")] = "auto",
    force: Annotated[bool, typer.Option("--force", help="Write into OUTPUT_DIR even if it is not empty.")] = False,
) -> None:
    """Merge a LoRA adapter into its base model: a plain checkpoint for vLLM, the hub, or any tool."""
    from transformers.utils import logging as hf_logging

    from r1cli.errors import OutputExistsError
    from r1cli.models.loading import adapter_base, merge_adapter
    from r1cli.ui.console import console

    if output.exists() and (not output.is_dir() or any(output.iterdir())) and not force:
        raise OutputExistsError(f"{output} is not empty", hint="choose another directory, or pass --force to write into it")
    base = adapter_base(adapter) if (adapter / "adapter_config.json").is_file() else None
    hf_logging.disable_progress_bar()  # one line of result, not loading bars
    merge_adapter(adapter, output, dtype=dtype)
    console.print(f"merged {base} + adapter {adapter} into {output}", markup=False, soft_wrap=True)
