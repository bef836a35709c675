"""`r1 eval MODEL --baseline FILE`: the comparison against a saved evaluation equals evaluating both models at once."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from r1cli.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("baseline-data") / "d.jsonl"
    path.write_text("".join(json.dumps({"problem": f"What is {i} + {i}?", "answer": str(2 * i)}) + "\n" for i in range(4)))
    return path


def invoke(*argv):
    result = runner.invoke(app, ["eval", *map(str, argv)])
    assert "Traceback" not in result.output
    return result


def test_baseline_file_gives_the_same_comparison_as_two_models(tiny_model_dir, second_model, data_file, tmp_path):
    common = ["-d", data_file, "-t", 1.0, "-k", 2, "--max-new-tokens", 5, "--seed", 3]
    saved = tmp_path / "before.jsonl"
    first = invoke(tiny_model_dir, *common, "-o", saved, "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(saved.read_text().splitlines()[0])["decoding"] == {
        "num_samples": 2, "temperature": 1.0, "top_p": 1.0, "max_new_tokens": 5}

    both = json.loads(invoke(tiny_model_dir, second_model, *common, "--json").stdout)
    after = tmp_path / "after.jsonl"
    against = invoke(second_model, *common, "--baseline", saved, "--json", "-o", after)
    assert against.exit_code == 0, against.output
    result = json.loads(against.stdout)
    assert result["a"]["model"] == str(tiny_model_dir) and result["b"]["model"] == str(second_model)
    assert result["a"]["metrics"] == both["a"]["metrics"] and result["difference"] == both["difference"]
    assert result["accuracy_ci"] == both["accuracy_ci"]
    # The output file holds the new model's results only, so it can be the next baseline.
    assert {json.loads(line)["model"] for line in after.read_text().splitlines()} == {str(second_model)}

    table = invoke(second_model, *common, "--baseline", saved)
    assert table.exit_code == 0 and "B − A" in table.output


def test_baseline_refuses_other_decoding_other_items_and_two_models(tiny_model_dir, second_model, data_file, tmp_path):
    saved = tmp_path / "before.jsonl"
    assert invoke(tiny_model_dir, "-d", data_file, "--max-new-tokens", 4, "-o", saved).exit_code == 0

    hotter = invoke(second_model, "-d", data_file, "--max-new-tokens", 4, "-t", 0.7, "--baseline", saved)
    assert hotter.exit_code == 2 and "temperature 0.0 there, 0.7 here" in hotter.output

    fewer = invoke(second_model, "-d", data_file, "--max-new-tokens", 4, "-n", 2, "--baseline", saved)
    assert fewer.exit_code == 2 and "not on the same items" in fewer.output

    two = invoke(tiny_model_dir, second_model, "-d", data_file, "--baseline", saved)
    assert two.exit_code == 2 and "give one MODEL" in two.output

    missing = invoke(second_model, "-d", data_file, "--baseline", tmp_path / "nope.jsonl")
    assert missing.exit_code == 1 and "no such file" in missing.output

    not_results = tmp_path / "plain.jsonl"
    not_results.write_text('{"prompt": "x", "completion": "y"}\n')
    wrong = invoke(second_model, "-d", data_file, "--baseline", not_results)
    assert wrong.exit_code == 2 and "not an r1 eval results file" in wrong.output
