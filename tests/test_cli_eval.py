"""`r1 eval` in-process: one model, two models, a completions file, a recipe, and every bad input as one line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from r1cli.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def gsm8k_file():
    from conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return str(SHARED_DATA / "gsm8k_test.jsonl")


def invoke(*argv):
    result = runner.invoke(app, ["eval", *map(str, argv)])
    assert "Traceback" not in result.output
    return result


def test_one_model_prints_metrics_as_json_and_writes_results(tiny_model_dir, gsm8k_file, tmp_path):
    out = tmp_path / "results.jsonl"
    result = invoke(tiny_model_dir, "--dataset", gsm8k_file, "--limit", 2, "--max-new-tokens", 6, "--json", "-o", out)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["benchmark"], report["metrics"]["items"], report["output"]) == ("gsm8k", 2, str(out))
    assert report["metrics"]["pass_at_k"] == {"pass@1": 0.0} and report["settings"]["max_new_tokens"] == 6
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["gold_answer"] for line in lines] == ["18", "3"]
    assert set(lines[0]["samples"][0]) == {"completion", "answer", "num_tokens", "rewards", "reward", "finished"}

    before = out.read_text(encoding="utf-8")
    refused = invoke(tiny_model_dir, "--dataset", gsm8k_file, "--limit", 1, "-o", out)
    assert refused.exit_code == 1 and "already exists" in refused.output and "--force" in refused.output
    assert out.read_text(encoding="utf-8") == before
    forced = invoke(tiny_model_dir, "--dataset", gsm8k_file, "--limit", 1, "--max-new-tokens", 4, "-o", out, "--force")
    assert forced.exit_code == 0 and len(out.read_text(encoding="utf-8").splitlines()) == 1


def test_table_shows_pass_at_k_and_maj_at_k_for_several_samples(tiny_model_dir, gsm8k_file):
    result = invoke(tiny_model_dir, "-d", gsm8k_file, "-n", 2, "-k", 2, "-t", 1.0, "--max-new-tokens", 4)
    assert result.exit_code == 0, result.output
    for label in ("2 items × 2 samples", "accuracy", "pass@2", "maj@2", "format compliance", "mean tokens",
                  "reward: format", "unverifiable", "tokens/s"):
        assert label in result.output


def test_two_models_side_by_side_with_a_bootstrap_interval(tiny_model_dir, second_model, gsm8k_file):
    args = [tiny_model_dir, second_model, "-d", gsm8k_file, "-n", 3, "--max-new-tokens", 4]
    table = invoke(*args)
    assert table.exit_code == 0, table.output
    assert "B − A" in table.output and "paired bootstrap, 3 items" in table.output
    data = json.loads(invoke(*args, "--json").stdout)
    assert data["a"]["model"] == str(tiny_model_dir) and data["b"]["model"] == str(second_model)
    assert data["difference"]["accuracy"] == data["b"]["metrics"]["accuracy"] - data["a"]["metrics"]["accuracy"]
    assert data["accuracy_ci"]["items"] == 3 and data["accuracy_ci"]["low"] <= data["accuracy_ci"]["high"]


def test_completions_mode_reports_the_same_metrics_without_a_model(tmp_path):
    from test_evaluation_evaluate import write_completions

    path = write_completions(tmp_path / "c.jsonl")
    result = invoke("--completions", path, "--json")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)["metrics"]
    assert metrics["accuracy"] == pytest.approx(5 / 12) and metrics["maj_at_k"] == {"maj@4": pytest.approx(2 / 3)}
    assert metrics["pass_at_k"]["pass@2"] == pytest.approx(11 / 18) and metrics["unverifiable"] == 1
    clash = invoke("some-model", "--completions", path)
    assert clash.exit_code == 2 and "give no MODEL" in clash.output
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("model_name_or_path: HuggingFaceTB/SmolLM2-135M-Instruct\ndataset_name: arithmetic\n"
                      "reward_funcs: [tag_count]\nreward_weights: [2.0]\n", encoding="utf-8")
    from_recipe = invoke("--completions", path, "--config", recipe, "--json")
    assert from_recipe.exit_code == 0, from_recipe.output
    settings = json.loads(from_recipe.stdout)["settings"]
    assert (settings["rewards"], settings["weights"]) == (["accuracy", "tag_count"], [0.0, 2.0])


def test_recipe_supplies_model_data_system_prompt_and_rewards(tiny_model_dir, gsm8k_file, tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        f"model_name_or_path: {tiny_model_dir}\ndataset_name: {gsm8k_file}\nsystem_prompt: Answer in <answer>.\n"
        "reward_funcs: [accuracy, format]\nreward_weights: [1.0, 0.5]\nmax_completion_length: 5\n", encoding="utf-8")
    out = tmp_path / "r.jsonl"
    result = invoke("--config", recipe, "-n", 1, "--json", "-o", out)
    assert result.exit_code == 0, result.output
    settings = json.loads(result.stdout)["settings"]
    assert (settings["rewards"], settings["weights"], settings["max_new_tokens"]) == (["accuracy", "format"], [1.0, 0.5], 5)
    prompt = json.loads(out.read_text(encoding="utf-8"))["prompt"]
    assert prompt[0] == {"role": "system", "content": "Answer in <answer>."}


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["/no/such/model", "-d", "{data}"], 1, "model path /no/such/model does not exist"),
        (["{model}", "-d", "{data}", "--prompt-column", "nope"], 1, "column 'nope' not in the dataset"),
        (["{model}", "-d", "{empty}"], 1, "is empty"),
        (["{model}", "-d", "{data}", "--limit", "0"], 1, "--limit 0 selects no items"),
        (["{gguf}", "-d", "{data}"], 1, "needs the `gguf` package"),
        (["{model}", "-d", "{data}", "-k", "4"], 2, "needs --temperature above 0"),
        (["{model}", "-d", "{data}", "--backend", "vllm"], 1, "--backend vllm needs"),
        (["{model}", "-d", "{data}", "--rewards", "acuracy"], 1, "acuracy"),
        (["{model}"], 2, "no dataset given"),
        ([], 2, "no model given"),
    ],
)
def test_bad_input_is_one_clear_line(argv, code, message, tiny_model_dir, gsm8k_file, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "gguf", None)  # find_spec now reports the package as missing
    monkeypatch.setitem(sys.modules, "vllm", None)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    values = {"model": tiny_model_dir, "data": gsm8k_file, "empty": empty, "gguf": gguf}
    result = invoke(*[a.format(**values) for a in argv])
    assert result.exit_code == code, result.output
    assert message in result.output
    assert result.output.count("error:") == 1


def test_help_does_not_import_torch():
    code = ("import sys; from typer.testing import CliRunner; from r1cli.cli import app; "
            "r = CliRunner().invoke(app, ['eval', '--help']); assert r.exit_code == 0, r.output; "
            "assert '--num-samples' in r.output; heavy = [m for m in ('torch', 'transformers', 'datasets') "
            "if m in sys.modules]; assert not heavy, heavy")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_completions_with_a_recipe_whose_model_and_data_are_on_a_cluster(tmp_path):
    # r1 eval --completions needs neither the model nor the data: paths that exist only on a GPU cluster are fine.
    from test_evaluation_evaluate import write_completions

    path = write_completions(tmp_path / "c.jsonl")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("model_name_or_path: /cluster/models/x\ndataset_name: /cluster/data/train.jsonl\n"
                      "reward_funcs: [format, tag_count]\nreward_weights: [1.0, 0.5]\n", encoding="utf-8")
    result = invoke("--completions", path, "--config", recipe, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # accuracy is measured (weight 0) since neither chosen reward verifies answers
    assert (data["settings"]["rewards"], data["settings"]["weights"]) == (["accuracy", "format", "tag_count"], [0.0, 1.0, 0.5])
    assert data["metrics"]["accuracy"] == pytest.approx(5 / 12)
    flagged = invoke("--completions", path, "--config", recipe, "--rewards", "accuracy,format", "--json")
    assert json.loads(flagged.stdout)["settings"]["weights"] == [1.0, 1.0]


def test_a_run_directory_evaluates_on_its_recipes_eval_data(tiny_model_dir, gsm8k_file, tmp_path):
    """`r1 eval RUN_DIR`: no --dataset needed, the run's config.yaml names the eval data and its columns."""
    import shutil

    import yaml

    run = tmp_path / "run"
    shutil.copytree(tiny_model_dir, run)
    (run / "config.yaml").write_text(yaml.safe_dump({
        "model_name_or_path": "base-model-not-used", "dataset_name": "train.jsonl", "eval_dataset_name": gsm8k_file,
        "eval_dataset_split": "train", "max_completion_length": 4}), encoding="utf-8")
    result = invoke(run, "--limit", 2, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["benchmark"] == "gsm8k" and report["metrics"]["items"] == 2
    assert report["settings"]["max_new_tokens"] == 4
