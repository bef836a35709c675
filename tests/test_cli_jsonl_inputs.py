"""Bad JSONL input to `r1 score` and `r1 eval --completions`: one clear FILE:LINE error each, or skipped and counted.

The same case tables run through both commands (both read completions files
through one streaming core, r1cli.scoring.stream). A large-file test checks that memory stays flat: the peak
RSS of each command, as its own process, on a file of several hundred MB.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from r1cli.cli import app

runner = CliRunner()
RIGHT = "<think>\nadd\nthem\n</think>\n<answer>4</answer>"


def row(**changes) -> bytes:
    values = {"completion": RIGHT, "solution": "4", **changes}
    return (json.dumps({k: v for k, v in values.items() if v is not ...}) + "\n").encode()


GOOD = row()

# (name, file content, line the error names (None: the file as a whole), text the message must contain)
BAD = [
    ("malformed_json", GOOD + b'{"completion": \n', 2, "invalid JSON"),
    ("truncated_last_line", GOOD + b'{"completion": "<answer>4</ans', 2, "invalid JSON"),
    ("single_quotes", b"{'completion': 'x', 'solution': '4'}\n", 1, "invalid JSON"),
    ("trailing_comma", b'{"completion": "x", "solution": "4",}\n', 1, "invalid JSON"),
    ("two_objects_on_a_line", GOOD.strip() + GOOD, 1, "invalid JSON"),
    ("array_row", GOOD + b'["x", "4"]\n', 2, "expected a JSON object, got an array"),
    ("string_row", b'"just text"\n', 1, "expected a JSON object, got a string"),
    ("number_row", GOOD + GOOD + b"42\n", 3, "expected a JSON object, got a number"),
    ("null_row", b"null\n", 1, "expected a JSON object, got null"),
    ("missing_completion_column", row(completion=...), 1, "no column 'completion'; the columns are: solution"),
    ("missing_gold_column", GOOD + row(solution=...), 2, "no gold column (solution, answer, gold or target)"),
    ("non_utf8_bytes", GOOD + b'{"completion": "caf\xe9", "solution": "4"}\n', 2, "not valid UTF-8"),
    ("utf16_file", '{"completion": "x", "solution": "4"}\n'.encode("utf-16"), 1, "not valid UTF-8"),
    ("raw_nul_byte", b'{"completion": "a\x00b", "solution": "4"}\n', 1, "Invalid control character"),
    ("raw_control_character", b'{"completion": "a\x1bb", "solution": "4"}\n', 1, "Invalid control character"),
    ("nested_too_deeply", b'{"completion": ' + b"[" * 100_000 + b"]" * 100_000 + b', "solution": "4"}\n', 1,
     "nested too deeply"),
    ("bad_line_after_blank_lines", GOOD + b"\n\n  \n" + GOOD + b"{oops}\n", 6, "invalid JSON"),
    ("bad_line_late_in_the_file", GOOD * 500 + b"not json\n", 501, "invalid JSON"),
    ("huge_malformed_line", GOOD + b'{"completion": "' + b"9" * 20_000_000 + b"\n", 2, "invalid JSON"),
    # A completion that is not text or chat messages would be scored as its str() (42 was accuracy 1.0).
    ("completion_is_a_number", GOOD + row(completion=4, solution="4"), 2, "column 'completion' holds a number, not a completion"),
    ("completion_is_null", row(completion=None), 1, "holds null, not a completion"),
    ("completion_is_a_list", GOOD + row(completion=["4"]), 2, "holds an array that is not chat messages"),
    ("completion_is_an_empty_list", row(completion=[]), 1, "holds an empty array"),
    ("completion_is_an_object", row(completion={"answer": "4"}), 1, 'holds an object without "content"'),
    ("completion_is_a_boolean", row(completion=True), 1, "holds a boolean"),
    ("empty_file", b"", None, "is empty: nothing to score"),
    ("blank_lines_only", b"\n  \n\t\n\r\n", None, "is empty: nothing to score"),
]

# (name, file content, rows scored): odd but valid input is read, not refused.
ODD_BUT_VALID = [
    ("empty_lines_between_rows", b"\n" + GOOD + b"\n\n" + GOOD + b"\n", 2),
    ("crlf_line_ends", GOOD.replace(b"\n", b"\r\n") * 2, 2),
    ("utf8_byte_order_mark", b"\xef\xbb\xbf" + GOOD, 1),
    ("no_newline_at_the_end", GOOD + GOOD.strip(), 2),
    ("escaped_nul_and_controls", row(completion="a\u0000b\u001b<answer>4</answer>"), 1),
    ("lone_surrogate_escape", b'{"completion": "\\ud800 <answer>4</answer>", "solution": "4"}\n', 1),
    ("completion_is_one_message", row(completion={"role": "assistant", "content": RIGHT}), 1),
    ("gold_is_a_number_or_null", row(solution=4) + row(solution=None), 2),
    ("chat_messages", row(completion=[{"role": "user", "content": "q"}, {"role": "assistant", "content": RIGHT}]), 1),
    ("columns_differ_between_rows", GOOD + row(extra=1) + row(solution=..., answer="#### 4"), 3),
    ("duplicate_key_last_wins", b'{"completion": "x", "completion": "<answer>4</answer>", "solution": "4"}\n', 1),
]

COMMANDS = {"score": ["score"], "eval": ["eval", "--completions"]}


def invoke(command: str, path: Path, *extra: str):
    result = runner.invoke(app, [*COMMANDS[command], str(path), *extra])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(("name", "content", "line", "needle"), BAD, ids=[case[0] for case in BAD])
def test_bad_jsonl_is_one_line_with_file_and_line(tmp_path, command, name, content, line, needle):
    path = tmp_path / f"{name}.jsonl"
    path.write_bytes(content)
    result = invoke(command, path)
    assert result.exit_code == 1, result.output
    assert result.output.count("error:") == 1 and "hint:" in result.output, result.output
    assert (f"{path}:{line}: " if line else f"{path}") in result.output, result.output
    assert needle in result.output, result.output


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(("name", "content", "rows"), ODD_BUT_VALID, ids=[case[0] for case in ODD_BUT_VALID])
def test_odd_but_valid_jsonl_is_scored(tmp_path, command, name, content, rows):
    path = tmp_path / f"{name}.jsonl"
    path.write_bytes(content)
    out = tmp_path / "out.jsonl"
    extra = ["--show-worst", "1"] if command == "score" else []  # the worst row is printed: it must be printable
    result = invoke(command, path, "--json", "-o", str(out), *extra)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["rows"] if command == "score" else summary["metrics"]["items"]) == rows
    written = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]  # valid UTF-8 and JSON
    assert len(written) == rows


def test_case_tables_are_large_enough(record_property):
    record_property("bad_jsonl_cases_per_command", len(BAD))
    record_property("odd_but_valid_cases_per_command", len(ODD_BUT_VALID))
    print(f"bad JSONL cases: {len(BAD)} per command ({len(COMMANDS)} commands); odd but valid: {len(ODD_BUT_VALID)}")
    assert len(BAD) >= 20 and len(ODD_BUT_VALID) >= 10


def test_lone_surrogate_round_trips_through_the_output_file(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_bytes(b'{"completion": "\\ud800 <answer>4</answer>", "solution": "4"}\n')
    out = tmp_path / "scored.jsonl"
    assert invoke("score", path, "-o", str(out), "--show-worst", "1").exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8"))["completion"] == "\ud800 <answer>4</answer>"


MIXED = GOOD + b"not json\n" + b'{"completion": "\xff"}\n' + b"[1]\n" + row(completion=...) + GOOD


def test_skip_invalid_scores_the_rest_and_counts_what_it_skipped(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(MIXED)
    result = invoke("score", path, "--skip-invalid", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["rows"], summary["skipped"], summary["skipped_lines"]) == (2, 4, [2, 3, 4, 5])
    shown = invoke("score", path, "--skip-invalid")
    assert "2 rows" in shown.output and "4 skipped" in shown.output
    assert "4 invalid line(s) skipped (first: line 2)" in shown.output
    nothing = tmp_path / "nothing.jsonl"
    nothing.write_bytes(b"not json\n[1]\n")
    refused = invoke("score", nothing, "--skip-invalid")
    assert refused.exit_code == 1 and "none of the 2 non-blank lines could be scored" in refused.output
    assert f"{nothing}:1: invalid JSON" in refused.output


def test_eval_completions_skips_and_counts_invalid_lines_too(tmp_path):
    from r1cli.evaluation.completions import evaluate_completions
    from r1cli.ui import eval_view
    from r1cli.ui.console import console

    path = tmp_path / "mixed.jsonl"
    path.write_bytes(MIXED)
    report = evaluate_completions(path, skip_invalid=True)
    assert (report.metrics.items, report.skipped, report.to_dict()["skipped"]) == (2, 4, 4)
    with console.capture() as captured:
        eval_view.render_report(report)
    assert "4 invalid line(s) skipped" in captured.get()
    # The same through the CLI flag; without it the first bad line stops the run.
    result = invoke("eval", path, "--skip-invalid", "--json")
    assert result.exit_code == 0, result.output
    assert (json.loads(result.stdout)["metrics"]["items"], json.loads(result.stdout)["skipped"]) == (2, 4)
    stopped = invoke("eval", path)
    assert stopped.exit_code == 1 and f"{path}:2:" in stopped.output
    misplaced = runner.invoke(app, ["eval", "some-model", "--skip-invalid"])
    assert misplaced.exit_code == 2 and "--completions files only" in misplaced.output


# --- a large file: memory stays flat --------------------------------------------------------

ROWS, KB = 3000, 100  # about 330 MB
_BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_large_jsonl.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_large_jsonl", _BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def files(bench, tmp_path_factory):
    directory = tmp_path_factory.mktemp("large")
    small, large = directory / "small.jsonl", directory / "large.jsonl"
    bench.write_file(small, 8, 1)
    return small, large, bench.write_file(large, ROWS, KB) / 1e6


@pytest.mark.parametrize("command", COMMANDS)
def test_memory_stays_flat_on_a_file_of_several_hundred_mb(bench, files, command, record_property):
    small, large, size_mb = files
    argv = [sys.executable, "-m", "r1cli", *COMMANDS[command]]
    code, _, floor_mb, output = bench.peak_rss([*argv, str(small), "--json"])
    assert code == 0, output
    code, seconds, peak_mb, output = bench.peak_rss([*argv, str(large), "--json"])
    assert code == 0, output
    record_property("peak_rss_mb", round(peak_mb))
    print(f"r1 {command} on {size_mb:.0f} MB: peak RSS {peak_mb:.0f} MB (8 small rows: {floor_mb:.0f} MB), {seconds:.1f}s")
    assert size_mb > 300
    assert peak_mb < 500
    # Loading the file (or every completion) would add hundreds of MB; streaming adds next to nothing.
    assert peak_mb - floor_mb < size_mb / 5, (peak_mb, floor_mb)
