"""Loading models and tokenizers: a hub id, a local directory or a GGUF file.

Every r1 command that needs weights goes through ``load_model`` and
``load_tokenizer``; LoRA settings become a ``peft.LoraConfig`` through
``lora_config_from`` (hand it to a TRL trainer as ``peft_config``) or are
applied directly with ``apply_lora``.

Anything the user can fix (a path that does not exist, a hub download that
fails, the ``gguf`` package missing) is raised as :class:`r1cli.errors.ModelError`
with a one-line message and a hint, never as a library traceback.

torch / transformers / peft are imported inside the functions: importing this
module is cheap.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any, Sequence

from r1cli.errors import ModelError

# Used when a tokenizer has no chat template of its own and the caller asks for "chatml".
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_DTYPES = {"float32": "float32", "fp32": "float32", "float16": "float16", "fp16": "float16",
           "bfloat16": "bfloat16", "bf16": "bfloat16"}


def resolve_source(name_or_path: str | os.PathLike, gguf_file: str | None = None) -> tuple[str, str | None]:
    """Split ``name_or_path`` into (hub id or directory, GGUF file name or None), checking local paths.

    A built-in short name (``smollm2-135m-instruct``, see ``catalog.py``) becomes its cached checkpoint.

    ``model.gguf`` (a file path) becomes (its directory, its name). A path that
    looks local (absolute, ``./``, ``~``, or ending in ``.gguf``) but does not
    exist raises :class:`ModelError` rather than being sent to the hub.
    """
    text = os.fspath(name_or_path)
    from r1cli.models.catalog import BUILTIN_MODELS, resolve_builtin

    if text in BUILTIN_MODELS and gguf_file is None:
        return str(resolve_builtin(text)), None  # a short name such as smollm2-135m-instruct
    path = Path(text).expanduser()
    looks_local = path.is_absolute() or text.startswith((".", "~")) or text.endswith(".gguf")
    if path.is_file() and text.endswith(".gguf"):
        if gguf_file is not None:
            raise ModelError(f"both a GGUF path ({text}) and gguf_file={gguf_file!r} were given", hint="pass only one")
        return str(path.parent), path.name
    if path.exists():
        if path.is_file():
            raise ModelError(f"{text} is a file but not a .gguf file", hint="pass the model's directory or a .gguf file")
        if gguf_file is not None and not (path / gguf_file).is_file() and not Path(gguf_file).is_file():
            raise ModelError(f"GGUF file {gguf_file!r} not found in {text}")
        return str(path), gguf_file
    if looks_local:
        raise ModelError(f"model path {text} does not exist", hint="check the path, or pass a Hugging Face hub id such as Qwen/Qwen2.5-0.5B-Instruct")
    return text, gguf_file


def _require_gguf(gguf_file: str | None) -> None:
    if gguf_file is not None and importlib.util.find_spec("gguf") is None:
        raise ModelError("loading a GGUF file needs the `gguf` package, which is not installed", hint="pip install gguf")


def _load_error(what: str, source: str, exc: Exception) -> ModelError:
    """Turn a transformers/hub exception into a one-line ModelError."""
    first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if Path(source).exists():
        hint = "the directory must hold a config.json and weights saved with save_pretrained"
    else:
        hint = "check the hub id and your network; offline, pass a local directory (or set HF_HUB_OFFLINE=1 with a cached model)"
    return ModelError(f"could not load {what} from {source}: {first_line}", hint=hint)


def load_tokenizer(
    name_or_path: str | os.PathLike,
    *,
    chat_template: str | None = None,
    trust_remote_code: bool = False,
    gguf_file: str | None = None,
    padding_side: str = "left",
):
    """Load a tokenizer ready for batched generation and GRPO.

    The pad token is set (to the EOS token when the tokenizer has none) and the
    padding side is ``padding_side`` (left by default, as generation and TRL's
    GRPOTrainer need). ``chat_template`` may be a Jinja string, a path to a
    ``.jinja`` file, or ``"chatml"``; without one the tokenizer's own is kept.
    """
    source, gguf_file = resolve_source(name_or_path, gguf_file)
    _require_gguf(gguf_file)
    from transformers import AutoTokenizer

    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    if gguf_file is not None:
        kwargs["gguf_file"] = gguf_file
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
    except (OSError, ValueError, EnvironmentError) as exc:
        raise _load_error("the tokenizer", source, exc) from exc

    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ModelError(f"the tokenizer of {source} has neither a pad nor an EOS token", hint="use a tokenizer that defines an EOS token")
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = padding_side
    if chat_template is not None:
        tokenizer.chat_template = _resolve_chat_template(chat_template)
    return tokenizer


def _resolve_chat_template(chat_template: str) -> str:
    if chat_template.lower() == "chatml":
        return CHATML_TEMPLATE
    if "{" not in chat_template and chat_template.endswith((".jinja", ".j2", ".txt")):
        path = Path(chat_template).expanduser()
        if not path.is_file():
            raise ModelError(f"chat template file {chat_template} does not exist")
        return path.read_text(encoding="utf-8")
    return chat_template


def _torch_dtype(dtype: Any):
    import torch

    if dtype is None or dtype == "auto" or isinstance(dtype, torch.dtype):
        return dtype
    name = _DTYPES.get(str(dtype).lower().removeprefix("torch."))
    if name is None:
        raise ModelError(f"unknown dtype {dtype!r}", hint=f"use one of: auto, {', '.join(sorted(set(_DTYPES.values())))}")
    return getattr(torch, name)


def load_model(
    name_or_path: str | os.PathLike,
    *,
    dtype: Any = "auto",
    attn_implementation: str | None = None,
    trust_remote_code: bool = False,
    gguf_file: str | None = None,
    device: str | None = None,
    lora: Any = None,
):
    """Load a causal LM from a hub id, a local directory or a GGUF file.

    ``dtype`` is ``"auto"`` (the checkpoint's), a name (``bfloat16``, ``float32``,
    ``fp16``...) or a ``torch.dtype``. A GGUF checkpoint is dequantized on load;
    the quantizer transformers attaches to it is then dropped so the model can be
    trained and saved with ``save_pretrained`` like any other. ``device`` moves
    the model there (``"cpu"``, ``"cuda"``, ``"cuda:1"``); ``None`` leaves it where
    transformers put it. ``lora`` (a ``peft.LoraConfig``, see ``lora_config_from``)
    wraps the model with fresh LoRA adapters.
    """
    source, gguf_file = resolve_source(name_or_path, gguf_file)
    _require_gguf(gguf_file)
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code, "dtype": _torch_dtype(dtype)}
    if attn_implementation is not None:
        kwargs["attn_implementation"] = attn_implementation
    if gguf_file is not None:
        kwargs["gguf_file"] = gguf_file
    try:
        model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
    except (OSError, ValueError, EnvironmentError) as exc:
        raise _load_error("the model", source, exc) from exc

    if gguf_file is not None:
        _drop_gguf_quantizer(model)
    if device is not None:
        model = model.to(device)
    if lora is not None:
        model = apply_lora(model, lora)
    return model


def _drop_gguf_quantizer(model) -> None:
    # The weights are already dequantized; the attached GGUF quantizer is not
    # serializable and would make save_pretrained (and PEFT) refuse the model.
    model.hf_quantizer = None
    if hasattr(model, "is_quantized"):
        try:
            model.is_quantized = False
        except AttributeError:  # a read-only property derived from hf_quantizer
            pass
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config


def lora_config_from(
    *,
    r: int = 16,
    alpha: int | None = None,
    dropout: float = 0.05,
    target_modules: str | Sequence[str] | None = "all-linear",
    bias: str = "none",
    modules_to_save: Sequence[str] | None = None,
):
    """A ``peft.LoraConfig`` for causal-LM training (``alpha`` defaults to ``2 * r``)."""
    if importlib.util.find_spec("peft") is None:
        raise ModelError("LoRA needs the `peft` package, which is not installed", hint="pip install peft")
    from peft import LoraConfig

    if r <= 0:
        raise ModelError(f"LoRA rank must be positive, got r={r}")
    targets = target_modules if isinstance(target_modules, str) or target_modules is None else list(target_modules)
    return LoraConfig(
        r=r,
        lora_alpha=alpha if alpha is not None else 2 * r,
        lora_dropout=dropout,
        target_modules=targets,
        bias=bias,
        modules_to_save=list(modules_to_save) if modules_to_save else None,
        task_type="CAUSAL_LM",
    )


def apply_lora(model, lora_config):
    """Wrap ``model`` with new LoRA adapters; unknown target modules become a ModelError."""
    from peft import get_peft_model

    try:
        return get_peft_model(model, lora_config)
    except ValueError as exc:
        first_line = (str(exc).strip().splitlines() or ["invalid LoRA configuration"])[0]
        raise ModelError(f"cannot apply LoRA: {first_line}", hint="check lora target_modules against the model's layer names") from exc
