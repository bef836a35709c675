"""Shared fixtures. Test modules mirror the package: tests/test_<module>.py, tests/test_cli_<command>.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Public math datasets beside the checkout (also present in CI); tests only, never the product.
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny random Qwen2 chat model + tokenizer saved to a directory (see tests/tiny_model.py)."""
    from tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def second_model(tmp_path_factory) -> Path:
    """Another tiny model with different random weights: something to compare against."""
    from tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model-b"), seed=1)


@pytest.fixture
def clean_registry():
    """Remove whatever a test registers, so tests do not leak reward names into each other."""
    from r1cli.rewards import REWARD_FUNCS_REGISTRY

    before = set(REWARD_FUNCS_REGISTRY)
    yield
    for name in set(REWARD_FUNCS_REGISTRY) - before:
        del REWARD_FUNCS_REGISTRY[name]


@pytest.fixture
def small_fs(tmp_path):
    """A 2 MiB tmpfs (root only; skipped with the reason elsewhere); unmounted afterwards. Disk-full and read-only tests."""
    mount = tmp_path / "small"
    mount.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {exc}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
