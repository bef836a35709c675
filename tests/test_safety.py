"""Safety: no code runs unless the user names it, model output is never executed, secrets never reach what r1 writes.

* custom reward files and entry-point rewards are imported only when a recipe or flag names them;
* trust_remote_code reaches transformers as False unless the recipe turns it on;
* no eval/exec/os.system/shell=True in r1cli (an AST scan), and completions built to run
  code or shell commands are scored by every reward, `r1 score` and `r1 eval` as text;
* secret values (recipe, --set, environment) appear in no run file, log, report or output.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from r1cli.cli import app
from r1cli.run_dir import RunDirectory

runner = CliRunner()
R1CLI = Path(__file__).resolve().parent.parent / "r1cli"
RIGHT = "<think>\nadd\nthem\n</think>\n<answer>4</answer>"


def write_data(path: Path) -> Path:
    path.write_text("".join(json.dumps({"prompt": f"What is {i} + 2?", "problem": f"What is {i} + 2?",
                                        "completion": RIGHT, "solution": str(i + 2)}) + "\n" for i in range(4)))
    return path


def write_recipe(path: Path, model: Path, data: Path, extra: str = "") -> Path:
    path.write_text(f"model_name_or_path: {model}\ndataset_name: {data}\nnum_generations: 2\n"
                    f"per_device_train_batch_size: 2\nmax_completion_length: 8\n{extra}")
    return path


def invoke(*argv) -> object:
    result = runner.invoke(app, [str(a) for a in argv])
    assert "Traceback" not in result.output
    return result


# --- custom code runs only when named -----------------------------------------------------------

REWARD_FILE = """\
from pathlib import Path

Path(__file__).with_name("IMPORTED").touch()  # proof that this file ran


def bonus(completions, **kwargs):
    return [1.0] * len(completions)
"""


def test_custom_reward_code_is_imported_only_when_named(tmp_path, tiny_model_dir, monkeypatch):
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    for where in (tmp_path, recipes):  # in the current directory (on sys.path, as with python -m) and beside the recipe
        (where / "rewards_x.py").write_text(REWARD_FILE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    data = write_data(tmp_path / "data.jsonl")
    plain = write_recipe(recipes / "plain.yaml", tiny_model_dir, data, "reward_funcs: [accuracy, format]\n")
    markers = [tmp_path / "IMPORTED", recipes / "IMPORTED"]

    for argv in (["validate", plain], ["score", data], ["score", data, "--config", plain],
                 ["eval", "--completions", data], ["eval", "--completions", data, "--config", plain],
                 ["dry-run", plain], ["score", data, "--rewards", "rewards_y"]):
        result = invoke(*argv)
        assert result.exit_code in (0, 1), result.output
        assert not any(m.exists() for m in markers), f"r1 {argv[0]} imported a reward file nobody named"
    assert "rewards_x" not in sys.modules

    named = write_recipe(recipes / "named.yaml", tiny_model_dir, data,
                         "reward_funcs: [accuracy, recipes/rewards_x.py:bonus]\n")
    assert invoke("validate", named).exit_code == 0
    assert (recipes / "IMPORTED").exists() and not (tmp_path / "IMPORTED").exists()
    result = invoke("score", data, "--rewards", "rewards_x:bonus", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["rewards"]["bonus"]["mean"] == 1.0
    assert (tmp_path / "IMPORTED").exists()
    sys.modules.pop("rewards_x", None)


def test_entry_point_rewards_are_imported_only_when_named(tmp_path, tiny_model_dir, monkeypatch):
    site = tmp_path / "site"
    dist = site / "r1_fancy_rewards-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: r1-fancy-rewards\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[r1cli.rewards]\nfancy = fancy_rewards:fancy\n")
    (site / "fancy_rewards.py").write_text(REWARD_FILE.replace("def bonus", "def fancy"))
    monkeypatch.syspath_prepend(str(site))
    data = write_data(tmp_path / "data.jsonl")
    plain = write_recipe(tmp_path / "plain.yaml", tiny_model_dir, data)
    marker = site / "IMPORTED"

    for argv in (["validate", plain], ["score", data], ["score", data, "--rewards", "acuracy"],
                 ["eval", "--completions", data]):
        invoke(*argv)
        assert not marker.exists(), f"r1 {' '.join(map(str, argv[:1]))} imported an entry point nobody named"
    named = write_recipe(tmp_path / "named.yaml", tiny_model_dir, data, "reward_funcs: [accuracy, fancy]\n")
    assert invoke("validate", named).exit_code == 0
    assert marker.exists()
    from r1cli.rewards.registry import REWARD_FUNCS_REGISTRY

    REWARD_FUNCS_REGISTRY.pop("fancy", None)
    sys.modules.pop("fancy_rewards", None)


# --- trust_remote_code ---------------------------------------------------------------------------


@pytest.fixture
def loads(monkeypatch):
    """Every from_pretrained / from_config call made by r1cli code: (what, trust_remote_code as passed)."""
    import transformers

    calls: list[tuple[str, object]] = []
    for cls in (transformers.AutoModelForCausalLM, transformers.AutoTokenizer, transformers.AutoConfig):
        for method in ("from_pretrained", "from_config"):
            original = getattr(cls, method, None)
            if original is None:
                continue

            def spy(*args, _original=original, _what=f"{cls.__name__}.{method}", **kwargs):
                caller = sys._getframe(1).f_globals.get("__name__", "")
                if caller.startswith("r1cli"):
                    calls.append((_what, kwargs.get("trust_remote_code", "not passed")))
                return _original(*args, **kwargs)

            monkeypatch.setattr(cls, method, spy)
    return calls


def test_trust_remote_code_reaches_transformers_as_false_by_default(tmp_path, tiny_model_dir, loads):
    from r1cli.config import load_recipe
    from r1cli.training.build import build_parts

    data = write_data(tmp_path / "data.jsonl")
    recipe = write_recipe(tmp_path / "r.yaml", tiny_model_dir, data, f"output_dir: {tmp_path / 'run'}\n")
    assert invoke("dry-run", recipe).exit_code == 0
    assert invoke("eval", tiny_model_dir, "-d", data, "--limit", 1, "--max-new-tokens", 1).exit_code == 0
    build_parts(load_recipe(recipe))  # what r1 grpo trains with
    whats = {what for what, _ in loads}
    assert {"AutoModelForCausalLM.from_pretrained", "AutoTokenizer.from_pretrained", "AutoConfig.from_pretrained"} <= whats
    assert all(value is False for _, value in loads), loads

    loads.clear()
    trusting = write_recipe(tmp_path / "t.yaml", tiny_model_dir, data, "trust_remote_code: true\n")
    assert invoke("dry-run", trusting).exit_code == 0
    assert loads and all(value is True for _, value in loads), loads
    warned = invoke("validate", trusting)
    assert warned.exit_code == 0 and "trust_remote_code" in warned.output and "warning" in warned.output


# --- model output is never executed ---------------------------------------------------------------

SHELL_FUNCTIONS = {("os", "system"), ("os", "popen"), ("os", "execv"), ("os", "execvp"), ("os", "execl"),
                   ("os", "spawnl"), ("os", "spawnv"), ("pty", "spawn"), ("commands", "getoutput"),
                   ("subprocess", "getoutput"), ("subprocess", "getstatusoutput")}
SUBPROCESS_CALLS = {"run", "call", "check_call", "check_output", "Popen"}
UNSAFE_LOADS = {("yaml", "load"), ("yaml", "unsafe_load"), ("yaml", "full_load"), ("pickle", "loads"),
                ("pickle", "load"), ("marshal", "loads")}


def dangerous_calls(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else None
        dotted = (func.value.id, func.attr) if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else None
        if name in ("eval", "exec", "compile", "__import__"):
            found.append((node.lineno, f"{name}()"))
        if dotted in SHELL_FUNCTIONS or dotted in UNSAFE_LOADS:
            found.append((node.lineno, ".".join(dotted)))
        if any(k.arg == "shell" and not (isinstance(k.value, ast.Constant) and k.value.value is False) for k in node.keywords):
            found.append((node.lineno, "shell=..."))
        is_subprocess = (dotted is not None and dotted[0] == "subprocess" and dotted[1] in SUBPROCESS_CALLS) or \
            name in SUBPROCESS_CALLS
        if is_subprocess and node.args and not isinstance(node.args[0], (ast.List, ast.Tuple, ast.Name, ast.Call)):
            found.append((node.lineno, "subprocess with a command string"))
    return found


def test_ast_scan_finds_no_eval_exec_or_shell_in_r1cli():
    sources = sorted(R1CLI.rglob("*.py"))
    assert len(sources) > 50
    findings = [f"{path.relative_to(R1CLI.parent)}:{line}: {what}"
                for path in sources for line, what in dangerous_calls(ast.parse(path.read_text(), str(path)))]
    assert findings == []
    # The scan itself finds what it looks for.
    bad = ("eval(x)\nexec(y)\nos.system(c)\nsubprocess.run(c, shell=True)\nsubprocess.check_output(f'ls {d}')\n"
           "yaml.load(t)\npickle.loads(b)\n__import__(m)\n")
    assert len(dangerous_calls(ast.parse(bad))) == 8


def injections(marker_dir: Path) -> list[str]:
    """Completions written to run code or commands that would each create a file in marker_dir."""
    payloads = []
    for i, template in enumerate([
        "__import__('os').system('touch {m}')",
        "__import__('subprocess').call(['touch', '{m}'])",
        "open('{m}', 'w').write('x')",
        "exec(\"open('{m}', 'w')\")",
        "eval(\"__import__('os').system('touch {m}')\")",
        "(lambda: __import__('os').system('touch {m}'))()",
        "2 + __import__('os').system('touch {m}')",
        "$(touch {m})",
        "`touch {m}`",
        "; touch {m}",
        "| touch {m} &&",
        "\\immediate\\write18{{touch {m}}}",
        "{{{{ ''.__class__.__mro__[1].__subclasses__() }}}} {{% import os %}}{{{{ os.system('touch {m}') }}}}",
    ]):
        payload = template.format(m=marker_dir / f"MARKER{i}")
        payloads += [payload, f"<answer>{payload}</answer>", f"\\boxed{{{payload}}}", f"The answer is {payload}",
                     f"<think>\n{payload}\n</think>\n<answer>{payload}</answer>", f"${payload}$", f"#### {payload}"]
    return payloads


def test_injected_completions_are_scored_as_text_everywhere(tmp_path, monkeypatch):
    from r1cli.rewards import available_rewards, get_reward_calculator

    markers = tmp_path / "markers"
    markers.mkdir()
    monkeypatch.chdir(tmp_path)  # a relative "touch MARKER" would land here
    completions = injections(markers)
    for name in available_rewards():
        func = get_reward_calculator([name]).funcs[0]
        values = func(completions, solution=["4"] * len(completions))
        assert all(v is None or isinstance(v, float) for v in values)
        func(["4"] * len(completions), solution=completions)  # hostile golds too
    path = tmp_path / "injected.jsonl"
    path.write_text("".join(json.dumps({"prompt": f"p{i % 5}", "completion": c, "solution": c if i % 2 else "4"}) + "\n"
                            for i, c in enumerate(completions)))
    everything = ",".join(available_rewards())
    assert invoke("score", path, "--rewards", everything, "-o", tmp_path / "s.jsonl", "--show-worst", 3).exit_code == 0
    assert invoke("eval", "--completions", path, "--rewards", everything, "-o", tmp_path / "e.jsonl").exit_code == 0
    assert list(markers.iterdir()) == [] and not list(tmp_path.glob("MARKER*"))


# --- secrets ---------------------------------------------------------------------------------------

SECRETS = {
    "recipe": "rcp-0b7d1f3a9c5e2468ace13579bdf02468",
    "set": "set-91c3e5a7f1b3d5f7092b4d6f8a1c3e5f",
    "HF_TOKEN": "hf_QwErTyUiOpAsDfGhJkLzXcVbNm123456",
    "WANDB_API_KEY": "0123456789abcdef0123456789abcdef01234567",
    "MY_SERVICE_PASSWORD": "pw-correct-horse-battery-staple-42",
}


def leaks(text: str) -> list[str]:
    return [name for name, value in SECRETS.items() if value in text]


def test_secrets_reach_no_run_file_log_report_or_output(tmp_path, tiny_model_dir):
    data = write_data(tmp_path / "data.jsonl")
    recipe = write_recipe(tmp_path / "r.yaml", tiny_model_dir, data, (
        f"reward_funcs: [format, length]\nmax_steps: 2\nlogging_steps: 1\nsave_steps: 1\nreport_to: none\n"
        f"save_completions: true\nlog_completion_details: true\ndebug_mode: true\n"
        f"hub_token: {SECRETS['recipe']}\noutput_dir: {tmp_path / 'run'}\n"))
    env = {**os.environ, **{k: v for k, v in SECRETS.items() if k.isupper()}}
    r1 = [sys.executable, "-m", "r1cli"]
    trained = subprocess.run([*r1, "grpo", str(recipe), "--no-live", "--set", f"hub_token={SECRETS['set']}"],
                             capture_output=True, text=True, timeout=300, env=env)
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert leaks(trained.stdout + trained.stderr) == []
    run_dir = RunDirectory(tmp_path / "run")
    run = run_dir.path
    reported = subprocess.run([*r1, "report", str(run)], capture_output=True, text=True, timeout=120, env=env)
    assert reported.returncode == 0, reported.stdout + reported.stderr
    assert leaks(reported.stdout + reported.stderr) == []
    written = [run_dir.config, run_dir.log, run_dir.metrics, run_dir.summary, run_dir.completions, run_dir.report_html]
    for path in written:
        assert leaks(path.read_text(encoding="utf-8")) == [], path.name
    for path in run.rglob("*"):  # every file, binary ones too: training_args.bin is a pickle of the TRL config
        if path.is_file():
            content = path.read_bytes()
            assert [n for n, v in SECRETS.items() if v.encode() in content] == [], path
    assert list(run.rglob("training_args.bin")), "the pickled TRL config was not checked"
    assert "<redacted>" in run_dir.config.read_text()
    assert "debug" in run_dir.log.read_text().lower()  # the most verbose log there is was checked

    checked = subprocess.run([*r1, "validate", str(recipe), "--json", "--set", f"hub_token={SECRETS['set']}",
                              "--set", f"my_service_password={SECRETS['MY_SERVICE_PASSWORD']}"],
                             capture_output=True, text=True, timeout=120, env=env)
    assert checked.returncode == 1 and "my_service_password" in checked.stdout  # an unknown key, named without its value
    assert leaks(checked.stdout + checked.stderr) == []


def test_validate_never_echoes_a_secret_value(tmp_path, tiny_model_dir):
    data = write_data(tmp_path / "data.jsonl")
    digits = "123456789012345678901234567"  # a token YAML reads as a number: the wrong type, named without its value
    recipe = write_recipe(tmp_path / "r.yaml", tiny_model_dir, data, f"hub_token: {digits}\n")
    for argv in (["validate", recipe], ["validate", recipe, "--json"], ["dry-run", recipe]):
        result = invoke(*argv)
        assert result.exit_code == 1 and "hub_token" in result.output and "an integer (value hidden)" in result.output
        assert digits not in result.output


@pytest.mark.parametrize(("name", "value", "secret"), [
    ("hub_token", "abc", True), ("HF_TOKEN", "abc", True), ("WANDB_API_KEY", "abc", True), ("wandb_api_key", 12345, True),
    ("hubToken", "abc", True), ("db_password", "abc", True), ("secret_name", "abc", True), ("private_key", "abc", True),
    ("pad_token", "<pad>", False), ("eos_token", "</s>", False), ("reward_key", "reward", False),
    ("average_tokens_across_devices", True, False), ("include_num_input_tokens_seen", "no", False),
    ("max_tokens", 512, False), ("hub_token", True, False), ("learning_rate", 1e-5, False),
    ("system_prompt", "hf_" + "a" * 30, True), ("run_name", "0123456789abcdef0123456789abcdef01234567", True),
])
def test_which_keys_and_values_are_secret(name, value, secret):
    from r1cli.config.secrets import REDACTED, is_secret, redact

    assert is_secret(name, value) is secret
    assert (redact({name: value})[name] == REDACTED) is secret
    assert redact({"outer": [{name: value}]})["outer"][0][name] == (REDACTED if secret else value)
