"""The wheel carries the templates, so `r1 init` works from a non-editable install."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(result.stdout + result.stderr)
    return next(out.glob("r1cli-*.whl"))


def test_wheel_contains_templates(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for rel in ("quickstart/grpo.yaml", "quickstart/sft.yaml", "gsm8k/grpo.yaml", "custom/grpo.yaml", "accelerate/zero3.yaml"):
        assert f"r1cli/templates/{rel}" in names


def test_init_from_a_non_editable_install(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)], check=True)
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = tmp_path / "work"
    out.mkdir()
    code = "import r1cli.config.templates as t, sys; print(t.templates_dir()); sys.argv=['r1']+sys.argv[1:]; from r1cli.cli import main; main()"
    result = subprocess.run([sys.executable, "-c", code, "init", "r.yaml", "--template", "gsm8k", "--yes"], cwd=out, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert str(target) in result.stdout.splitlines()[0]  # templates came from the installed package
    assert (out / "r.yaml").read_text().startswith("# r1 recipe from the 'gsm8k' template")
