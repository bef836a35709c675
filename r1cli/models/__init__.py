"""Model and tokenizer loading (hub id, local directory, GGUF) and LoRA settings.

Importing this package is cheap: torch and transformers load only when a
function below is called.
"""

from r1cli.models.loading import (
    CHATML_TEMPLATE,
    apply_lora,
    load_model,
    load_tokenizer,
    lora_config_from,
    resolve_source,
)

__all__ = ["CHATML_TEMPLATE", "apply_lora", "load_model", "load_tokenizer", "lora_config_from", "resolve_source"]
