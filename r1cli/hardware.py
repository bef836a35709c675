"""Cheap facts about this machine, answered without importing torch.

``r1 validate`` must stay fast, so GPU presence is read from the NVIDIA
driver's files and optional packages are found with ``find_spec`` (which
locates a package without importing it). Whether a GPU-only package such as
vLLM can run here is decided once, by :func:`gpu_package_problem` /
:func:`vllm_problem`; every command asks them.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path


def package_available(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def gpu_count() -> int:
    """Visible NVIDIA GPUs, honouring CUDA_VISIBLE_DEVICES; 0 on a CPU machine."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return 0
    gpus = Path("/proc/driver/nvidia/gpus")
    found = len(list(gpus.iterdir())) if gpus.is_dir() else 0
    if visible:
        found = min(found, len([v for v in visible.split(",") if v.strip()]))
    return found


def has_gpu() -> bool:
    return gpu_count() > 0


@dataclass(frozen=True)
class Unusable:
    """Why a GPU-only package cannot run here: ``missing`` is ``"package"`` or ``"gpu"``."""

    package: str
    missing: str

    @property
    def reason(self) -> str:
        """What is missing, to follow "X needs ": ``the `vllm` package, which is not installed``."""
        if self.missing == "package":
            return f"the `{self.package}` package, which is not installed"
        return "an NVIDIA GPU, and none is visible"


def gpu_package_problem(package: str) -> Unusable | None:
    """None when ``package`` is installed and a CUDA GPU is visible, else what is missing (the package first)."""
    if not package_available(package):
        return Unusable(package, "package")
    if not has_gpu():
        return Unusable(package, "gpu")
    return None


def vllm_problem() -> Unusable | None:
    """The one answer to "can vLLM run here?": None, or why not.

    ``r1 validate`` (``use_vllm``), ``r1 eval --backend vllm`` and ``r1 vllm-serve`` all ask this.
    """
    return gpu_package_problem("vllm")
