"""Loading models and tokenizers: a hub id, a local directory or a GGUF file.

Every r1 command that needs weights goes through ``load_model`` and
``load_tokenizer``; LoRA settings become a ``peft.LoraConfig`` through
``lora_config_from`` (hand it to a TRL trainer as ``peft_config``) or are
applied directly with ``apply_lora``.

A LoRA run saves an adapter (``adapter_config.json`` + adapter weights), not
a full model. ``load_model`` on such a directory loads the base model the
adapter names and the adapter on top, merged by default, so ``r1 eval RUN_DIR``
or a GRPO recipe starting from a LoRA SFT run just work; ``merge_adapter``
writes that merged model to a directory as a plain checkpoint (``r1 merge``).
4-bit/8-bit loading (QLoRA) goes through bitsandbytes and needs a CUDA GPU.

Anything the user can fix (a path that does not exist, a hub download that
fails, the ``gguf`` package missing) is raised as :class:`r1cli.errors.ModelError`
with a one-line message and a hint, never as a library traceback.

torch / transformers / peft are imported inside the functions: importing this
module is cheap.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Sequence

from r1cli.errors import ModelError, first_line

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
    from r1cli.models.catalog import BUILTIN_MODELS

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


def resolve_builtin(name: str) -> Path:
    """A local transformers checkpoint for built-in model ``name`` (see ``catalog.py``), converted from GGUF on first use."""
    from r1cli.models.catalog import builtin_gguf, cached_checkpoint, is_cached

    target = cached_checkpoint(name)
    if is_cached(name):
        return target  # the common case: no transformers import
    from transformers.utils import logging as hf_logging

    gguf = builtin_gguf(name)
    hf_logging.disable_progress_bar()  # conversion runs under r1's own output, not tqdm's
    # extra={"phase": ...}: the training dashboard names the phase on screen (see r1cli.training.callbacks).
    logging.getLogger("r1cli").info("converting %s from GGUF (first use only)", name,
                                    extra={"phase": f"converting {name} from GGUF (first use only)"})

    model = load_model(gguf, dtype="float32")
    tokenizer = load_tokenizer(gguf, padding_side="left")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written to a sibling temporary directory and renamed, so a crash never leaves half a checkpoint.
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=target.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _require_gguf(gguf_file: str | None) -> None:
    if gguf_file is not None and importlib.util.find_spec("gguf") is None:
        raise ModelError("loading a GGUF file needs the `gguf` package, which is not installed", hint="pip install gguf")


def _load_error(what: str, source: str, exc: Exception) -> ModelError:
    """Turn a transformers/hub exception into a one-line ModelError."""
    if Path(source).exists():
        hint = "the directory must hold a config.json and weights saved with save_pretrained"
    else:
        hint = "check the hub id and your network; offline, pass a local directory (or set HF_HUB_OFFLINE=1 with a cached model)"
    return ModelError(f"could not load {what} from {source}: {first_line(exc)}", hint=hint)


class DamagedModelError(ModelError):
    """The weights files are damaged (truncated download, interrupted save): no recipe change repairs that."""

    def __init__(self, source: str, exc: Exception):
        super().__init__(f"the model files of {source} are damaged or cut short ({first_line(exc)})",
                         hint="download or save the model again (a hub model: delete it from the cache, see `hf cache`); "
                              "a run's own checkpoint: delete it and resume from the one before (--resume)")


def check_weights_complete(source: str | os.PathLike) -> None:
    """Raise :class:`DamagedModelError` when a local ``.safetensors`` file is shorter than its own header says.

    A safetensors file starts with its header's length and the header, which gives every tensor's byte
    range: a download or save cut short is found from the file size alone, without reading weights
    (what ``r1 dry-run`` and the checks before step 1 can afford). Hub ids and other formats pass.
    """
    import json

    directory = Path(source)
    if not directory.is_dir():
        return
    for file in sorted(directory.glob("*.safetensors")):
        try:
            size = file.stat().st_size
            with open(file, "rb") as handle:
                head = handle.read(8)
                if len(head) < 8:
                    raise ValueError(f"{file.name}: {size} bytes, no header")
                length = int.from_bytes(head, "little")
                if length > size - 8:
                    raise ValueError(f"{file.name}: {size} bytes, shorter than its header")
                header = json.loads(handle.read(length))
            end = max((entry["data_offsets"][1] for name, entry in header.items() if name != "__metadata__"), default=0)
            if 8 + length + end > size:
                raise ValueError(f"{file.name}: {size:,} bytes where its header describes {8 + length + end:,}")
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise DamagedModelError(str(source), exc) from None


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
    if gguf_file is None and is_adapter_dir(source) and not _has_tokenizer(source):
        source, gguf_file = resolve_source(adapter_base(source))  # an adapter saved without its tokenizer
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


def _has_tokenizer(directory: str) -> bool:
    return any((Path(directory) / name).is_file() for name in ("tokenizer.json", "tokenizer_config.json", "tokenizer.model"))


def chat_template_is_a_file(chat_template: str) -> bool:
    """``chat_template`` names a file (one line, no Jinja markup, not ``chatml``) rather than being the template."""
    return chat_template.lower() != "chatml" and "\n" not in chat_template \
        and not any(mark in chat_template for mark in ("{%", "{{", "{#"))


def _resolve_chat_template(chat_template: str) -> str:
    if chat_template.lower() == "chatml":
        return CHATML_TEMPLATE
    if chat_template_is_a_file(chat_template):
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
    quantization: Any = None,
    merge: bool = True,
):
    """Load a causal LM from a hub id, a local directory, a GGUF file or a LoRA adapter directory.

    ``dtype`` is ``"auto"`` (the checkpoint's), a name (``bfloat16``, ``float32``,
    ``fp16``...) or a ``torch.dtype``. A GGUF checkpoint is dequantized on load;
    the quantizer transformers attaches to it is then dropped so the model can be
    trained and saved with ``save_pretrained`` like any other. ``device`` moves
    the model there (``"cpu"``, ``"cuda"``, ``"cuda:1"``); ``None`` leaves it where
    transformers put it. ``lora`` (a ``peft.LoraConfig``, see ``lora_config_from``)
    wraps the model with fresh LoRA adapters. ``quantization`` (from
    ``quantization_config``) loads the weights in 4 or 8 bits on this process's GPU.

    A directory holding ``adapter_config.json`` is a LoRA adapter: its base
    model is loaded with the same settings and the adapter applied, then
    merged into the weights (``merge=False`` keeps the ``peft.PeftModel``).
    """
    source, gguf_file = resolve_source(name_or_path, gguf_file)
    if gguf_file is None and is_adapter_dir(source):
        return _load_with_adapter(source, merge=merge, lora=lora, device=device, dtype=dtype,
                                  attn_implementation=attn_implementation, trust_remote_code=trust_remote_code,
                                  quantization=quantization)
    _require_gguf(gguf_file)
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code, "dtype": _torch_dtype(dtype)}
    if attn_implementation is not None:
        kwargs["attn_implementation"] = attn_implementation
    if gguf_file is not None:
        kwargs["gguf_file"] = gguf_file
    if quantization is not None:
        kwargs["quantization_config"] = quantization
        kwargs["device_map"] = {"": f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"}  # each process on its own GPU
    if Path(source).is_dir():
        # An absolute path: an adapter trained from this model records it as its base, wherever it is run from later.
        source = str(Path(source).resolve())
    try:
        model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
    except (OSError, ValueError, EnvironmentError) as exc:
        raise _load_error("the model", source, exc) from exc
    except Exception as exc:
        if type(exc).__name__ == "SafetensorError":  # a weights file cut short or corrupted
            raise DamagedModelError(source, exc) from exc
        raise

    if gguf_file is not None:
        _drop_gguf_quantizer(model)
    if device is not None:
        model = model.to(device)
    if lora is not None:
        model = apply_lora(model, lora)
    return model


ADAPTER_CONFIG = "adapter_config.json"


def is_adapter_dir(path: str | os.PathLike) -> bool:
    """A directory saved by peft: adapter weights plus ``adapter_config.json`` naming the base model."""
    return (Path(path) / ADAPTER_CONFIG).is_file()


def adapter_base(adapter_dir: str | os.PathLike) -> str:
    """The base model an adapter directory was trained from (``base_model_name_or_path``)."""
    import json

    path = Path(adapter_dir) / ADAPTER_CONFIG
    try:
        base = json.loads(path.read_text(encoding="utf-8")).get("base_model_name_or_path")
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {path}: {exc}", hint="the adapter directory is damaged; save it again") from exc
    if not base:
        raise ModelError(f"{path} does not name its base model (base_model_name_or_path)",
                         hint="add the base model's hub id or path to adapter_config.json")
    return str(base)


def _load_with_adapter(adapter_dir: str, *, merge: bool, lora: Any, device: str | None, **kwargs):
    if importlib.util.find_spec("peft") is None:
        raise ModelError(f"{adapter_dir} is a LoRA adapter; loading it needs the `peft` package", hint="pip install peft")
    from peft import PeftModel

    base_name = adapter_base(adapter_dir)
    try:
        base = load_model(base_name, device=device, **kwargs)
    except ModelError as exc:
        raise ModelError(f"cannot load the base model of the adapter in {adapter_dir}: {exc.message}",
                         hint=exc.hint) from exc
    import warnings

    with warnings.catch_warnings():
        # peft calls transformers' deprecated gradient-checkpointing names; nothing the user can act on.
        warnings.simplefilter("ignore", FutureWarning)
        try:
            model = PeftModel.from_pretrained(base, adapter_dir)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise ModelError(f"cannot apply the adapter in {adapter_dir} to {base_name}: {first_line(exc)}",
                             hint="the adapter must have been trained from this base model") from exc
        if merge:
            model = model.merge_and_unload()
    if lora is not None:
        model = apply_lora(model, lora)
    return model


def merge_adapter(adapter_dir: str | os.PathLike, output_dir: str | os.PathLike, *, dtype: Any = "auto",
                  trust_remote_code: bool = False) -> Path:
    """Write base model + LoRA adapter, merged, to ``output_dir`` as a plain checkpoint with its tokenizer."""
    adapter_dir, output_dir = Path(adapter_dir), Path(output_dir)
    if not is_adapter_dir(adapter_dir):
        raise ModelError(f"{adapter_dir} is not a LoRA adapter directory (no {ADAPTER_CONFIG})",
                         hint="pass a run directory trained with use_peft: true, or one of its checkpoint-N")
    if output_dir.exists() and not output_dir.is_dir():
        raise ModelError(f"{output_dir} is a file", hint="give a directory for the merged model")
    model = load_model(adapter_dir, dtype=dtype, trust_remote_code=trust_remote_code, merge=True)
    tokenizer = load_tokenizer(adapter_dir, trust_remote_code=trust_remote_code)
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    # Saved into a sibling temporary directory first, so a crash never leaves half a checkpoint in output_dir.
    staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.", suffix=".tmp", dir=output_dir.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        _move_into(staging, output_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return output_dir


def _move_into(staging: Path, output_dir: Path) -> None:
    """Put a finished checkpoint in place: one rename when output_dir is new or empty, else file by file."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes it private; the result gets a plain mkdir's permissions
    if not output_dir.exists() or not any(output_dir.iterdir()):
        os.replace(staging, output_dir)  # rename(2) replaces an empty directory
        return
    for entry in staging.iterdir():  # --force into a non-empty directory: each file replaced atomically
        target = output_dir / entry.name
        if target.is_dir():
            shutil.rmtree(target)
        elif entry.is_dir() and target.exists():
            target.unlink()
        os.replace(entry, target)


def quantization_config(bits: int, *, quant_type: str = "nf4", nested: bool = False, compute_dtype: Any = None):
    """A ``BitsAndBytesConfig`` for 4- or 8-bit weights (QLoRA); :class:`ModelError` where it cannot run."""
    from r1cli import hardware

    if bits not in (4, 8):
        raise ModelError(f"quantization is 4 or 8 bits, got {bits}")
    if not hardware.package_available("bitsandbytes"):
        raise ModelError(f"{bits}-bit loading needs the `bitsandbytes` package, which is not installed",
                         hint=f"pip install bitsandbytes on a machine with a CUDA GPU, or set load_in_{bits}bit: false")
    if not hardware.has_gpu():
        raise ModelError(f"{bits}-bit loading needs a CUDA GPU and none is visible",
                         hint=f"set load_in_{bits}bit: false on this machine")
    from transformers import BitsAndBytesConfig

    if bits == 8:
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=quant_type, bnb_4bit_use_double_quant=nested,
                              bnb_4bit_compute_dtype=_torch_dtype(compute_dtype) if compute_dtype not in (None, "auto") else None)


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
        raise ModelError(f"cannot apply LoRA: {first_line(exc)}", hint="check lora target_modules against the model's layer names") from exc


def is_prompt_learning(model) -> bool:
    """Whether ``model`` runs a PEFT prompt-learning adapter (prompt/prefix/p-tuning): virtual tokens PEFT lays
    out itself in front of every row, with its own 2D attention mask and position ids."""
    peft_config = getattr(model, "active_peft_config", None)
    return peft_config is not None and bool(getattr(peft_config, "is_prompt_learning", False))
