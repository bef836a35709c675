"""Faults while writing: one line naming the path and the cause, the file that was there intact; paths expanded once."""

from __future__ import annotations

import errno
import subprocess
from pathlib import Path

import pytest

from r1cli.files import WriteError, atomic_write_text, check_writable


@pytest.fixture
def small_fs(tmp_path):
    """A 2 MiB tmpfs (root only); unmounted afterwards."""
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


def test_disk_full_names_the_file_and_keeps_the_earlier_one(small_fs):
    target = small_fs / "summary.json"
    atomic_write_text(target, "earlier", force=True)
    with pytest.raises(WriteError, match=rf"cannot write {target}: no space left on device") as failed:
        atomic_write_text(target, "x" * (3 * 1024 * 1024), force=True)
    assert "free some space" in failed.value.hint
    assert target.read_text() == "earlier"
    assert [p.name for p in small_fs.iterdir()] == ["summary.json"]  # no temporary file left


def test_read_only_file_system(small_fs):
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    with pytest.raises(WriteError, match="read-only file system"):
        atomic_write_text(small_fs / "out.jsonl", "x")
    with pytest.raises(WriteError, match="read-only file system"):
        check_writable(small_fs / "out.jsonl")


def test_a_parent_that_is_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    for call in (lambda p: atomic_write_text(p, "y"), check_writable):
        with pytest.raises(WriteError, match="a parent of it is a file"):
            call(tmp_path / "file" / "sub" / "out.json")
    assert (tmp_path / "file").read_text() == "x"


def test_a_directory_where_the_file_goes(tmp_path):
    (tmp_path / "out.json").mkdir()
    for call in (lambda p: atomic_write_text(p, "y", force=True), lambda p: check_writable(p, force=True)):
        with pytest.raises(WriteError, match="it is a directory"):
            call(tmp_path / "out.json")


def test_write_error_is_one_line_for_any_cause(tmp_path):
    error = WriteError.from_os_error(OSError(errno.EDQUOT, "Disk quota exceeded"), tmp_path / "x")
    assert str(error).count("\n") == 0 and "disk quota exceeded" in str(error)


def test_paths_are_expanded_once_for_every_path_key(tmp_path, monkeypatch, tiny_model_dir):
    from r1cli.config import load_recipe
    from r1cli.run_dir import RunDirectory

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("R1_DATA", str(tmp_path / "data"))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "d.jsonl").write_text('{"problem": "1+1?", "answer": "2"}\n')
    path = tmp_path / "r.yaml"
    path.write_text(f"model_name_or_path: {tiny_model_dir}\ndataset_name: ~/data/d.jsonl\n"
                    "output_dir: ~/runs/x\nreward_funcs: [format]\n")
    recipe = load_recipe(path, overrides=["eval_dataset_name=$R1_DATA/d.jsonl"], layers=("schema", "rewards"))
    assert RunDirectory.of(recipe).path == tmp_path / "runs" / "x"  # where transformers writes too
    assert recipe.values["dataset_name"] == str(tmp_path / "data" / "d.jsonl")
    assert recipe.values["eval_dataset_name"] == str(tmp_path / "data" / "d.jsonl")
    assert recipe.values["model_name_or_path"] == str(tiny_model_dir)


def test_a_chat_template_given_as_text_is_left_alone():
    from r1cli.config.recipe import expand_path

    template = "{% for m in messages %}$HOME {{ m.content }}{% endfor %}"
    assert expand_path(template) == template
    assert expand_path("Qwen/Qwen2.5-0.5B") == "Qwen/Qwen2.5-0.5B"
    assert expand_path(Path("~")) == Path("~")  # not a string: as it is
