"""glibc allocator tuning for CPU training: it takes effect here (Linux, glibc) and training keeps working after it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from r1cli.training.allocator import keep_freed_memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only")
def test_settings_take_effect_and_big_tensors_still_work():
    # In a child process, so this test process keeps glibc's defaults.
    code = textwrap.dedent("""
        import torch
        from r1cli.training.allocator import keep_freed_memory
        assert keep_freed_memory() is True
        for _ in range(3):  # 64 MB tensors, above glibc's mmap threshold, allocated and freed again
            x = torch.ones(16 * 2**20)
            assert float(x.sum()) == 16 * 2**20
            del x
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_elsewhere_it_declines_quietly(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert keep_freed_memory() is False
