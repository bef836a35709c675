"""Inputs from issue 14: streams and gzip files for `r1 score`/`r1 eval --completions`, FILE:LINE for a bad line in a
local dataset, a split a local file lacks is an error (never the training rows), a datasets cache that cannot be written.
"""

from __future__ import annotations

import gc
import gzip
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from r1cli.cli import app
from r1cli.errors import DataError

runner = CliRunner()
RIGHT = "<think>\nadd\n</think>\n<answer>4</answer>"
ROWS = (json.dumps({"completion": RIGHT, "solution": "4"}) + "\n" + json.dumps({"completion": "<answer>5</answer>", "solution": "4"}) + "\n")


@pytest.fixture
def spool_dir(tmp_path, monkeypatch):
    """Where r1's spool files go (TMPDIR), to see that none is left behind."""
    import tempfile

    directory = tmp_path / "spool"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def _fifo(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "pipe.jsonl"
    os.mkfifo(path)

    def write() -> None:
        with open(path, "wb") as handle:
            handle.write(data)

    threading.Thread(target=write, daemon=True).start()
    return path


# --- streams and gzip: r1 score ------------------------------------------------------------


def test_score_reads_standard_input(spool_dir, tmp_path):
    out = tmp_path / "scored.jsonl"
    result = runner.invoke(app, ["score", "-", "--json", "-o", str(out), "--show-worst", "1"], input=ROWS)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["rows"] == 2 and summary["file"] == "<stdin>"
    assert [json.loads(line)["rewards"]["accuracy"] for line in out.read_text().splitlines()] == [1.0, 0.0]
    assert list(spool_dir.iterdir()) == []  # the spool is r1's, and gone


def test_score_reads_a_fifo_with_output_and_show_worst(spool_dir, tmp_path):
    from r1cli.scoring import score_file

    out = tmp_path / "scored.jsonl"
    report = score_file(_fifo(tmp_path, ROWS.encode()), output=out, show_worst=1)
    assert report.rows == 2 and report.worst[0].line == 2 and "5" in report.worst[0].completion
    assert len(out.read_text().splitlines()) == 2
    assert list(spool_dir.iterdir()) == []


def test_a_gzip_file_named_jsonl_is_read_through_gzip(spool_dir, tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_bytes(gzip.compress(ROWS.encode()))
    result = runner.invoke(app, ["score", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == 2 and json.loads(result.stdout)["file"] == str(path)
    path.write_bytes(gzip.compress(ROWS.encode())[:30])  # cut short
    broken = runner.invoke(app, ["score", str(path)])
    assert broken.exit_code == 1 and "a gzip file that cannot be decompressed" in broken.output, broken.output
    assert "UTF-8" not in broken.output
    assert list(spool_dir.iterdir()) == []


def test_a_bad_line_in_a_stream_names_stdin_and_the_line():
    result = runner.invoke(app, ["score", "-"], input=ROWS + '{"completion": 42, "solution": "42"}\n')
    assert result.exit_code == 1
    assert "<stdin>:3: column 'completion' holds a number, not a completion" in result.output
    skipped = runner.invoke(app, ["score", "-", "--skip-invalid", "--json"], input=ROWS + "null\n")
    assert skipped.exit_code == 0 and json.loads(skipped.stdout)["skipped_lines"] == [3]


def test_a_missing_file_still_says_so(tmp_path):
    result = runner.invoke(app, ["score", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 1 and "no such file" in result.output


# --- streams and gzip: r1 eval --completions ------------------------------------------------


def test_eval_completions_from_a_fifo_keeps_the_spool_while_the_report_reads_it(spool_dir, tmp_path):
    from r1cli.evaluation.completions import evaluate_completions
    from r1cli.evaluation.output import write_results

    report = evaluate_completions(_fifo(tmp_path, gzip.compress(ROWS.encode())))
    assert report.metrics.items == 2 and report.dataset == str(tmp_path / "pipe.jsonl")
    assert len(list(spool_dir.iterdir())) == 1  # --output reads completions back from it
    write_results([report], tmp_path / "results.jsonl")
    assert json.loads((tmp_path / "results.jsonl").read_text().splitlines()[0])["samples"][0]["completion"] == RIGHT
    del report
    gc.collect()
    assert list(spool_dir.iterdir()) == []


def test_eval_completions_reads_standard_input_and_flags_a_sample_that_is_not_text(tmp_path):
    result = runner.invoke(app, ["eval", "--completions", "-", "--json"], input=ROWS)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["metrics"]["items"] == 2
    results_line = {"prompt": "2+2?", "gold": "4", "samples": [{"completion": RIGHT}, {"completion": 4}]}
    bad = runner.invoke(app, ["eval", "--completions", "-"], input=json.dumps(results_line) + "\n")
    assert bad.exit_code == 1 and "<stdin>:1: samples[1].completion holds a number" in bad.output, bad.output


# --- local datasets: FILE:LINE, splits ------------------------------------------------------


def test_a_malformed_line_in_a_local_dataset_is_file_and_line(tmp_path):
    from r1cli.data.sources import load_source
    from r1cli.evaluation.datasets import load_eval_set

    path = tmp_path / "train.jsonl"
    path.write_text('{"problem": "1+1?", "answer": "2"}\n\n{"problem": "2+2?", "answer": 4\n')
    with pytest.raises(DataError, match=rf"^{path}:3: invalid JSON") as raised:
        load_source(str(path))
    assert "An error occurred" not in str(raised.value)
    with pytest.raises(DataError, match=rf"{path}:3: invalid JSON"):
        load_eval_set(str(path))
    path.write_text('{"problem": "1+1?", "answer": "2"}\n[1, 2]\n')
    with pytest.raises(DataError, match=rf"{path}:2: expected a JSON object, got list"):
        load_source(str(path))


def test_a_malformed_line_stops_dry_run_with_file_and_line(tmp_path, tiny_model_dir):
    data = tmp_path / "d.jsonl"
    data.write_text('{"problem": "1+1?", "answer": "2"}\n{"problem": oops}\n')
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"model_name_or_path: {tiny_model_dir}\ndataset_name: {data}\nreward_funcs: [accuracy]\n"
                      f"output_dir: {tmp_path / 'run'}\nmax_steps: 1\n")
    result = runner.invoke(app, ["dry-run", str(recipe)])
    assert result.exit_code != 0
    assert f"{data}:2: invalid JSON" in result.output, result.output
    assert "An error occurred while generating the dataset" not in result.output


def test_a_split_a_single_file_lacks_is_an_error_never_its_rows(tmp_path):
    from r1cli.data.sources import load_source
    from r1cli.evaluation.datasets import load_eval_set

    path = tmp_path / "data.jsonl"
    path.write_text('{"problem": "1+1?", "answer": "2"}\n')
    with pytest.raises(DataError, match=r"has no split 'test': it is a single file whose split is 'train'"):
        load_source(str(path), split="test")
    with pytest.raises(DataError, match="has no split 'test'"):
        load_eval_set(str(path), split="test")  # r1 eval --split test
    assert len(load_eval_set(str(path))) == 1  # no --split: the file named is the eval data
    named = tmp_path / "gsm8k_test.jsonl"
    named.write_text(path.read_text())
    assert len(load_eval_set(str(named), split="test")) == 1  # its name carries the split
    directory = tmp_path / "dir"
    directory.mkdir()
    (directory / "train.jsonl").write_text(path.read_text())
    with pytest.raises(DataError, match=r"has no split 'test'.*'train'"):
        load_source(str(directory), split="test", split_given=False)  # never the train files


def test_eval_dataset_split_on_a_local_training_file_is_refused(tmp_path, tiny_model_dir):
    from r1cli.config import load_recipe
    from r1cli.training.build import build_data

    data = tmp_path / "d.jsonl"
    data.write_text('{"problem": "1+1?", "answer": "2"}\n')
    path = tmp_path / "r.yaml"
    path.write_text(f"model_name_or_path: {tiny_model_dir}\ndataset_name: {data}\nreward_funcs: [accuracy]\n"
                    f"output_dir: {tmp_path / 'run'}\neval_dataset_split: test\n")
    recipe = load_recipe(path, layers=("schema", "rewards"))
    with pytest.raises(DataError, match=rf"{data} has no split 'test'"):
        build_data(recipe)
    held_out = tmp_path / "held_out.jsonl"
    held_out.write_text('{"problem": "2+2?", "answer": "4"}\n')
    path.write_text(path.read_text().replace("eval_dataset_split: test", f"eval_dataset_name: {held_out}"))
    train, eval_ds = build_data(load_recipe(path, layers=("schema", "rewards")))
    assert (len(train), len(eval_ds)) == (1, 1)


# --- a datasets cache that cannot be written ------------------------------------------------


def _load_with_cache(cache: Path, data: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HOME", "HF_DATASETS_CACHE")}
    env["HF_DATASETS_CACHE"] = str(cache)
    code = f"from r1cli.data.sources import load_source\nload_source({str(data)!r})"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def test_a_datasets_cache_that_cannot_be_written_is_named_with_the_way_to_move_it(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text('{"problem": "1+1?", "answer": "2"}\n')
    (tmp_path / "file").write_text("x")
    cache = tmp_path / "file" / "cache"  # a parent that is a file: fails for root too
    done = _load_with_cache(cache, data)
    assert f"cannot write the datasets cache {cache}" in done.stderr, done.stderr
    assert "HF_DATASETS_CACHE=" in done.stderr and "check the file's format" not in done.stderr


def test_a_read_only_datasets_cache(tmp_path, small_fs):
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    data = tmp_path / "d.jsonl"
    data.write_text('{"problem": "1+1?", "answer": "2"}\n')
    done = _load_with_cache(small_fs / "huggingface" / "datasets", data)
    assert "cannot write the datasets cache" in done.stderr and "read-only file system" in done.stderr, done.stderr
    assert "HF_DATASETS_CACHE=" in done.stderr
