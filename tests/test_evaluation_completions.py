"""evaluate_completions and the streaming core: one pass, no temporary files, each answer parsed once; import graph."""

from __future__ import annotations

import ast
import json
import tempfile
from pathlib import Path

import pytest

from r1cli.evaluation.completions import evaluate_completions
from r1cli.evaluation.output import write_results
from r1cli.rewards import get_reward_calculator
from test_evaluation_evaluate import write_completions


@pytest.fixture
def no_temporary_files(monkeypatch):
    # Writing the output atomically (a sibling of the output file) is fine; a scratch copy of the data is not.
    def refuse(*args, **kwargs):
        raise AssertionError("a temporary file was created")

    real_mkstemp = tempfile.mkstemp

    def sibling_only(*args, **kwargs):
        if kwargs.get("dir") is None:
            refuse()
        return real_mkstemp(*args, **kwargs)

    for name in ("TemporaryDirectory", "NamedTemporaryFile", "mkdtemp"):
        monkeypatch.setattr(tempfile, name, refuse)
    monkeypatch.setattr(tempfile, "mkstemp", sibling_only)


def test_completions_and_results_files_need_no_temporary_file(tmp_path, no_temporary_files):
    report = evaluate_completions(write_completions(tmp_path / "c.jsonl"))
    out = tmp_path / "results.jsonl"
    write_results([report], out)  # completions read back from the source file by offset
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["samples"][0]["completion"].startswith("<think>")
    again = evaluate_completions(out)  # the results file is read in place, samples straight from its lines
    assert again.metrics.scalars() == report.metrics.scalars()
    assert [s.source[1] for s in again.items[0].samples] == [0, 1, 2, 3]
    copy = tmp_path / "copy.jsonl"
    write_results([again], copy)
    assert [json.loads(line)["samples"] for line in copy.read_text(encoding="utf-8").splitlines()] == \
        [line["samples"] for line in lines]


def test_each_answer_is_parsed_once(tmp_path, monkeypatch):
    """The accuracy reward parses each completion; the majority vote reuses that parse instead of parsing again."""
    from r1cli.rewards import math_answers

    calls = []
    real = math_answers._completion_answer_now
    monkeypatch.setattr(math_answers, "_completion_answer_now", lambda text: calls.append(text) or real(text))
    monkeypatch.setattr(math_answers, "_answer_cache", type(math_answers._answer_cache)())
    path = write_completions(tmp_path / "c.jsonl")
    texts = [json.loads(line)["completion"] for line in path.read_text(encoding="utf-8").splitlines()]
    report = evaluate_completions(path)
    assert len(calls) == len(set(calls)) == len(set(texts))  # every distinct completion parsed exactly once
    assert report.metrics.accuracy == pytest.approx((2 / 4 + 3 / 4 + 0) / 3)


def test_a_custom_reward_sees_prompts_and_columns(tmp_path):
    source = tmp_path / "custom.py"
    source.write_text("def has_prompt(completions, prompts=None, level=None, log_metric=None, **kw):\n"
                      "    log_metric('x', 1.0)\n"
                      "    return [1.0 if p and l == 2 else 0.0 for p, l in zip(prompts, level)]\n")
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"prompt": "q", "completion": "\\boxed{1}", "target": "1", "level": 2}) + "\n")
    report = evaluate_completions(path, get_reward_calculator([f"{source}:has_prompt"]))
    assert report.metrics.reward_means == {"accuracy": 1.0, "has_prompt": 1.0}  # gold from `target`; accuracy at weight 0
    assert report.settings["weights"] == [0.0, 1.0]


def test_a_verifying_reward_is_the_accuracy_metric_whatever_its_name(tmp_path):
    report = evaluate_completions(write_completions(tmp_path / "c.jsonl"), get_reward_calculator(["format"]))
    assert report.accuracy_reward == "accuracy" and report.settings["rewards"] == ["accuracy", "format"]


def _imports(path: Path, package: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {name for name in found if name.startswith(package)}


def test_no_import_cycle_in_scoring_and_evaluation():
    root = Path(__file__).resolve().parent.parent / "r1cli"
    modules = {}
    for package in ("scoring", "evaluation"):
        for path in (root / package).glob("*.py"):
            name = f"r1cli.{package}" + ("" if path.stem == "__init__" else f".{path.stem}")
            modules[name] = path
    graph = {name: {m for m in _imports(path, "r1cli.") if m in modules and m != name} for name, path in modules.items()}

    def visit(node, stack):
        if node in stack:
            raise AssertionError(" -> ".join([*stack[stack.index(node):], node]))
        for nxt in graph[node]:
            visit(nxt, [*stack, node])

    for name in graph:
        if not name.endswith(("scoring", "evaluation")):  # a package importing its own modules is not a cycle
            visit(name, [])


def test_modules_stay_small():
    root = Path(__file__).resolve().parent.parent / "r1cli"
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for d in ("scoring", "evaluation") for p in (root / d).glob("*.py")}
    assert max(sizes.values()) <= 400, sizes


def test_worker_processes_give_the_same_report(tmp_path):
    path = write_completions(tmp_path / "c.jsonl")
    serial = evaluate_completions(path)
    parallel = evaluate_completions(path, workers=2)
    assert parallel.metrics == serial.metrics
    assert [i.majority for i in parallel.items] == [i.majority for i in serial.items]


def test_answers_stay_parsed_once_past_the_parse_memory(monkeypatch):
    """More completions than math_answers remembers: scored in slices, so no answer is parsed twice."""
    from r1cli.rewards import math_answers
    from r1cli.rewards.selection import calculator_for
    from r1cli.scoring import batch

    monkeypatch.setattr(math_answers, "_ANSWER_CACHE_SIZE", 8)
    monkeypatch.setattr(math_answers, "_answer_cache", type(math_answers._answer_cache)())
    monkeypatch.setattr(batch, "ANSWER_SLICE", 4)
    calls = []
    real = math_answers._completion_answer_now
    monkeypatch.setattr(math_answers, "_completion_answer_now", lambda text: calls.append(text) or real(text))
    texts = [f"<answer>{n}</answer>" for n in range(30)]
    result = batch.score_batch(calculator_for(None, names=["accuracy"]), texts, columns={"solution": ["7"] * 30},
                               answers=True)
    assert len(calls) == 30
    assert result.scores.per_reward["accuracy"] == [1.0 if n == 7 else 0.0 for n in range(30)]
    assert [a.text for a in result.answers] == [str(n) for n in range(30)]
