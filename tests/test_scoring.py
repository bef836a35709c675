"""score_file: streaming JSONL scoring, statistics, flags, examples, output files, bad input, workers."""

from __future__ import annotations

import csv
import json
import math
import textwrap

import pytest

from r1cli.errors import DataError, OutputExistsError, UsageError
from r1cli.rewards import get_reward_calculator
from r1cli.scoring import read_lines, score_file
from r1cli.scoring.stats import Histogram

RIGHT = "<think>\nadd\nthem\n</think>\n<answer>4</answer>"
WRONG = "<think>\nadd\nthem\n</think>\n<answer>5</answer>"
BARE = "4"


def write_jsonl(path, rows, extra_lines=()):
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
        for line in extra_lines:
            handle.write(line + "\n")
    return path


@pytest.fixture
def small(tmp_path):
    rows = [
        {"completion": RIGHT, "solution": "4"},
        {"completion": WRONG, "solution": "4"},
        {"completion": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": BARE}], "answer": "#### 4"},
        {"completion": RIGHT, "solution": "not an answer at all, sorry"},
    ]
    return write_jsonl(tmp_path / "small.jsonl", rows)


def test_statistics_hand_checked(small):
    report = score_file(small)
    assert report.rows == 4 and report.skipped == 0
    acc = report.rewards["accuracy"]
    # accuracy: 1, 0, 1 (chat messages, gold from `answer`), None (unparseable gold)
    assert (acc.count, acc.nulls, acc.zeros) == (3, 1, 1)
    assert acc.mean == pytest.approx(2 / 3) and acc.std == pytest.approx(math.sqrt(1 / 3))
    assert (acc.min, acc.max) == (0.0, 1.0)
    assert acc.histogram == [1, 0, 0, 0, 0, 0, 0, 0, 0, 2] and acc.edges[0] == 0.0 and acc.edges[-1] == 1.0
    fmt = report.rewards["format"]
    assert fmt.mean == pytest.approx(3 / 4) and fmt.zeros == 1  # 1, 1, 0 (bare "4"), 1
    tags = report.rewards["tag_count"]
    assert tags.mean == pytest.approx(0.75)
    # totals: 3, 2, 1, 2 (the None accuracy adds nothing)
    assert report.total.mean == pytest.approx(2.0) and (report.total.min, report.total.max) == (1.0, 3.0)
    # over the three rows with an accuracy: format (1, 1, 0) against accuracy (1, 0, 1) -> r = -0.5
    assert fmt.corr_accuracy == pytest.approx(-0.5)
    assert acc.corr_accuracy is None
    assert [f.code for f in report.flags] == ["gold_unparseable", "high_format_wrong_answer"]


def test_summary_json_keys(small):
    summary = score_file(small, calc=get_reward_calculator(["accuracy"])).to_dict()
    assert summary["rows"] == 4
    assert set(summary["rewards"]["accuracy"]) >= {"mean", "std", "min", "max", "zeros", "nulls"}
    assert set(summary["reward"]) >= {"mean", "std", "min", "max", "zeros", "nulls"}
    json.dumps(summary, allow_nan=False)  # strict JSON: no NaN anywhere


def test_gold_never_parseable_is_flagged(tmp_path):
    path = write_jsonl(tmp_path / "g.jsonl", [{"completion": RIGHT, "solution": "see the attached figure"}] * 3)
    report = score_file(path, calc=get_reward_calculator(["accuracy", "format"]))
    assert report.rewards["accuracy"].nulls == 3
    assert report.flags[0].code == "gold_never_parseable" and report.flags[0].rows == 3
    assert math.isnan(report.total.mean) is False and report.total.mean == 1.0


def test_examples_worst_and_best(small):
    report = score_file(small, show_worst=2, show_best=1)
    assert [(e.line, e.total) for e in report.worst] == [(3, 1.0), (2, 2.0)]
    assert [(e.line, e.total) for e in report.best] == [(1, 3.0)]
    assert report.worst[0].completion == BARE and report.worst[0].solution == "#### 4"
    assert report.best[0].rewards == {"accuracy": 1.0, "format": 1.0, "tag_count": 1.0}


def test_output_jsonl_and_no_clobber(small, tmp_path):
    out = tmp_path / "scored.jsonl"
    score_file(small, calc=get_reward_calculator(["accuracy"], [2.0]), output=out)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["rewards"] for r in rows] == [{"accuracy": 1.0}, {"accuracy": 0.0}, {"accuracy": 1.0}, {"accuracy": None}]
    assert [r["reward"] for r in rows] == [2.0, 0.0, 2.0, None]
    assert rows[2]["answer"] == "#### 4"  # the input row is kept
    with pytest.raises(OutputExistsError):
        score_file(small, output=out)
    assert out.read_text().count("\n") == 4  # untouched
    score_file(small, output=out, force=True)
    assert "format" in json.loads(out.read_text().splitlines()[0])["rewards"]
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_output_csv(small, tmp_path):
    out = tmp_path / "scored.csv"
    score_file(small, calc=get_reward_calculator(["accuracy", "tag_count"]), output=out)
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert list(rows[0]) == ["completion", "solution", "rewards.accuracy", "rewards.tag_count", "reward"]
    assert [r["rewards.accuracy"] for r in rows] == ["1.0", "0.0", "1.0", ""]
    assert json.loads(rows[2]["completion"])[1]["content"] == BARE  # nested values as JSON


def test_output_name_must_be_jsonl_or_csv(small, tmp_path):
    with pytest.raises(UsageError, match="unknown format"):
        score_file(small, output=tmp_path / "scored.txt")
    with pytest.raises(UsageError, match="replace the input"):
        score_file(small, output=small)


def test_invalid_json_stops_with_file_and_line(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [{"completion": RIGHT, "solution": "4"}], extra_lines=["", "{oops"])
    with pytest.raises(DataError) as info:
        score_file(path)
    assert info.value.message.startswith(f"{path}:3: invalid JSON")
    assert "--skip-invalid" in info.value.hint


def test_skip_invalid_counts_and_reports(tmp_path):
    lines = ["{oops", "[1, 2]", '{"text": "no completion column"}', "[" * 100_000]
    path = write_jsonl(tmp_path / "bad.jsonl", [{"completion": RIGHT, "solution": "4"}], extra_lines=lines)
    report = score_file(path, skip_invalid=True)
    assert report.rows == 1 and report.skipped == 4 and report.skipped_lines == [2, 3, 4, 5]
    assert report.flags[-1].code == "skipped_lines"


def test_non_utf8_line_has_a_line_number(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"completion": "ok", "solution": "4"}\n{"completion": "caf\xe9", "solution": "4"}\n')
    with pytest.raises(DataError, match=r"latin1.jsonl:2: not valid UTF-8"):
        score_file(path)


def test_missing_column_names_the_columns_that_exist(tmp_path):
    path = write_jsonl(tmp_path / "cols.jsonl", [{"response": RIGHT, "reference": "4"}])
    with pytest.raises(DataError) as info:
        score_file(path)
    assert "no column 'completion'; the columns are: response, reference" in info.value.message
    assert "--completion-column" in info.value.hint
    with pytest.raises(DataError, match=r"no gold column \(solution, answer, gold or target\)"):
        score_file(path, completion_column="response")
    report = score_file(path, completion_column="response", solution_column="reference")
    assert report.rewards["accuracy"].mean == 1.0
    # rewards that need no gold need no gold column
    assert score_file(path, completion_column="response", calc=get_reward_calculator(["format"])).rows == 1


@pytest.mark.parametrize("column", ["solution", "answer", "gold", "target"])
def test_gold_is_found_in_every_column_training_reads(tmp_path, column):
    # The gold column candidates are the data loader's (SOLUTION_COLUMNS): a dataset that trains can be scored.
    path = write_jsonl(tmp_path / "g.jsonl", [{"completion": RIGHT, column: "4"}, {"completion": WRONG, column: "4"}])
    report = score_file(path)
    assert report.rewards["accuracy"].mean == 0.5
    assert (report.accuracy.correct, report.accuracy.verifiable, report.accuracy.unverified) == (1, 2, 0)


def test_accuracy_summary_follows_the_verifying_reward(small, tmp_path):
    report = score_file(small)
    assert (report.accuracy.reward, report.accuracy.correct, report.accuracy.verifiable, report.accuracy.unverified) == (
        "accuracy", 2, 3, 1)
    assert report.to_dict()["accuracy"]["accuracy"] == pytest.approx(2 / 3)
    none = score_file(small, calc=get_reward_calculator(["format", "tag_count"]))
    assert none.accuracy is None and none.to_dict()["accuracy"] == {"reward": None, "note": "no reward verifies answers"}
    assert all(s.corr_accuracy is None for s in none.rewards.values())


def test_custom_rewards_see_prompts_columns_and_logging(tmp_path):
    source = tmp_path / "seen.py"
    source.write_text(textwrap.dedent("""
        def seen(completions, prompts=None, difficulty=None, log_metric=None, log_extra=None, **kwargs):
            log_metric("seen/calls", 1.0)
            log_extra("seen", list(completions))
            return [float(len(p)) + d for p, d in zip(prompts, difficulty)]
    """))
    path = write_jsonl(tmp_path / "p.jsonl", [{"prompt": "abc", "completion": "x", "difficulty": 1}])
    report = score_file(path, calc=get_reward_calculator([f"{source}:seen"]))
    assert report.rewards["seen"].mean == 4.0


def test_empty_file_is_an_error(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n")
    with pytest.raises(DataError, match="is empty"):
        score_file(path)
    with pytest.raises(DataError, match="no such file"):
        score_file(tmp_path / "absent.jsonl")


def test_unknown_reward_fails_before_reading(small, monkeypatch):
    from r1cli.errors import RewardError
    from r1cli.scoring import rows

    monkeypatch.setattr(rows, "read_lines", lambda path: pytest.fail("read before the rewards were resolved"))
    with pytest.raises(RewardError, match="unknown reward 'acc'"):
        score_file(small, calc=get_reward_calculator(["acc"]))


def test_reader_is_lazy_and_skips_blank_lines(tmp_path):
    path = tmp_path / "lines.jsonl"
    path.write_bytes(b'{"a": 1}\n\n  \n{"a": 2}')
    lines = read_lines(path)
    assert next(lines)[:2] == (1, b'{"a": 1}\n')
    assert [(n, raw) for n, raw, _ in lines] == [(4, b'{"a": 2}')]


def test_histogram_grows_for_unknown_ranges():
    hist = Histogram(None)
    for v in [0.0, 1.0, 0.5]:
        hist.add(v)
    for v in [3.0, -1.0]:  # beyond the first values' range: bins double in width
        hist.add(v)
    counts, edges = hist.result()
    assert sum(counts) == 5
    assert edges[0] <= -1.0 and edges[-1] >= 3.0


def test_custom_reward_with_unknown_range(tmp_path):
    source = tmp_path / "custom.py"
    source.write_text(textwrap.dedent("""
        def chars(completions, **kwargs):
            return [float(len(c)) for c in completions]
    """))
    path = write_jsonl(tmp_path / "c.jsonl", [{"completion": "x" * n} for n in (1, 5, 10)])
    report = score_file(path, calc=get_reward_calculator([f"{source}:chars"]))
    stats = report.rewards["chars"]
    assert (stats.mean, stats.min, stats.max) == (pytest.approx(16 / 3), 1.0, 10.0)
    assert sum(stats.histogram) == 3


def test_workers_keep_input_order_and_scores(tmp_path):
    rows = []
    for i in range(40):
        rows.append({"completion": f"<answer>{i}</answer>", "solution": str(i if i % 3 else i + 1)})
    path = write_jsonl(tmp_path / "many.jsonl", rows, extra_lines=["{bad"])
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    serial = score_file(path, output=one, chunk_rows=3, skip_invalid=True)
    parallel = score_file(path, output=two, chunk_rows=3, workers=2, skip_invalid=True)
    assert one.read_text() == two.read_text()
    assert serial.to_dict()["rewards"] == parallel.to_dict()["rewards"]
    assert parallel.skipped_lines == [41] and parallel.workers == 2
    accuracy = [json.loads(line)["rewards"]["accuracy"] for line in one.read_text().splitlines()]
    assert accuracy == [0.0 if i % 3 == 0 else 1.0 for i in range(40)]


def test_workers_report_errors_from_the_data(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [{"completion": RIGHT, "solution": "4"}] * 5, extra_lines=["{bad"])
    with pytest.raises(DataError, match=r"bad.jsonl:6: invalid JSON"):
        score_file(path, workers=2, chunk_rows=2)


def test_progress_is_reported(small):
    seen = []
    score_file(small, chunk_rows=2, on_progress=lambda rows, done, total: seen.append((rows, done, total)))
    size = small.stat().st_size
    assert seen[-1] == (4, size, size) and [s[0] for s in seen] == [2, 4]
