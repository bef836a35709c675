"""The interactive `r1 init` wizard: questionary prompts that fill an InitChoices.

Each answer is checked when it is given, and asked again until it is right (a
local file that does not exist, weights that do not match the rewards, no reward
ticked). Defaults are the template's values, except where they would be wrong:
hardware defaults to what this machine has, and a different dataset than the
template's gets its own columns (read from a local file's first rows,
:func:`r1cli.data.peek.peek_columns`) and no real-time eval unless asked for.
Pressing Enter through the first template gives a recipe that runs as it is.
Ctrl-C at any question: one line, nothing written, exit 130.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from r1cli.config.scaffold import HARDWARE, LOGGING, InitChoices
from r1cli.config.templates import DEFAULT_TEMPLATE, Template, list_templates
from r1cli.errors import R1Error

WIDTH = 80  # descriptions are shortened so the question and its answer fit a terminal this wide


class WizardCancelled(R1Error):
    """Ctrl-C (or Esc) at a question: nothing written, the shell's exit code for an interrupt."""

    exit_code = 130


def _ask(question) -> Any:
    try:
        answer = question.unsafe_ask()
    except KeyboardInterrupt:
        answer = None
    if answer is None:
        raise WizardCancelled("init cancelled; nothing was written")
    return answer


def _fit(text: str, room: int) -> str:
    return text if len(text) <= room else text[: max(1, room - 1)] + "…"


def choose_template(default: str | None = None) -> str:
    import questionary

    options = [questionary.Choice(f"{t.name:15} {_fit(t.description, WIDTH - 29)}", value=t.name)
               for t in list_templates()]
    return _ask(questionary.select("Template:", choices=options, default=default or DEFAULT_TEMPLATE))


# --- checks, one per answer: True, or the message questionary shows under the prompt -------------

def check_model(text: str) -> bool | str:
    text = text.strip()
    if not text:
        return "give a model: a hub id (org/name), a local directory or a .gguf file"
    if (text.startswith((".", "/", "~")) or text.endswith(".gguf")) and not Path(text).expanduser().exists():
        return f"{text} does not exist"
    return True


def check_dataset(text: str) -> bool | str:
    from r1cli.data.peek import looks_local

    text = text.strip()
    if not text:
        return "give the training data: a hub id, a built-in task or a local .jsonl/.json/.csv/.parquet file"
    if looks_local(text) and not Path(text).expanduser().exists():
        return f"{text} does not exist"
    return True


def weights_check(count: int) -> Callable[[str], bool | str]:
    def check(text: str) -> bool | str:
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not parts:
            return True  # empty: every reward weighs 1
        try:
            [float(p) for p in parts]
        except ValueError:
            return "weights are numbers separated by commas, e.g. 1,0.5"
        if len(parts) != count:
            return f"{len(parts)} weight(s) for {count} reward(s): give one per reward, or leave empty for all 1"
        return True

    return check


def check_rewards(picked: list[str]) -> bool | str:
    return True if picked else "tick at least one reward (space), then Enter"


def _column(questionary, message: str, columns: list[str] | None, default: str | None, candidates: tuple[str, ...]):
    """A select over the file's own columns when they are known, else free text (empty: detect)."""
    if columns:
        default = default if default in columns else next((c for c in candidates if c in columns), columns[0])
        return _ask(questionary.select(message, choices=columns, default=default))
    return _ask(questionary.text(message + " (empty: detect)", default=default or "")) or None


def run_wizard(template: Template) -> InitChoices:
    import questionary

    from r1cli.data.peek import looks_local, peek_columns
    from r1cli.data.prompts import PROMPT_COLUMNS, SOLUTION_COLUMNS
    from r1cli.hardware import has_gpu
    from r1cli.rewards.registry import available_rewards

    base = template.values()
    choices = InitChoices()
    choices.model = _ask(questionary.text("Model (hub id, local directory or .gguf):",
                                          default=str(base.get("model_name_or_path", "")), validate=check_model)).strip()
    dataset = _ask(questionary.text("Training data (hub id, built-in task or local file):",
                                    default=str(base.get("dataset_name", "")), validate=check_dataset)).strip()
    same_data = dataset == str(base.get("dataset_name", ""))
    choices.dataset = dataset
    columns = peek_columns(dataset) if looks_local(dataset) else None
    prompt_default = base.get("dataset_prompt_column") if same_data else None
    choices.prompt_column = _column(questionary, "Prompt column:", columns, prompt_default, PROMPT_COLUMNS)
    if base.get("trainer", "grpo") == "grpo":
        rest = [c for c in columns or [] if c != choices.prompt_column] or None
        gold_default = base.get("dataset_solution_column") if same_data else None
        choices.solution_column = _column(questionary, "Gold answer column:", rest, gold_default, SOLUTION_COLUMNS)
        _ask_rewards(questionary, base, choices, available_rewards())
        choices.reject_sampling = _ask(questionary.confirm("Reject sampling (regenerate groups with no learning signal)?",
                                                           default=bool(base.get("use_reject_sampling", False))))
        eval_default = str(base.get("eval_dataset_name") or "") if same_data else ""
        answer = _ask(questionary.text("Real-time eval data (empty: off):", default=eval_default,
                                       validate=lambda t: not t.strip() or check_dataset(t))).strip()
        # Unchanged on the template's own data: keep its eval settings (split, steps) as they are.
        choices.eval_dataset = None if same_data and answer == eval_default and answer else answer
    machine = "gpu" if has_gpu() else "cpu"
    template_hw = "cpu" if base.get("use_cpu") else (base.get("accelerate_config") if base.get("accelerate_config") in HARDWARE else "gpu")
    hardware_default = template_hw if machine == "gpu" else "cpu"
    choices.hardware = _ask(questionary.select(
        f"Hardware (this machine: {'a GPU' if machine == 'gpu' else 'no GPU'}):",
        choices=[questionary.Choice(v, value=k) for k, v in HARDWARE.items()], default=hardware_default))
    if choices.hardware == template_hw:
        choices.hardware = None  # the template's own settings (bf16, checkpointing) stay as written
    log_default = base.get("report_to", "none") if base.get("report_to") in LOGGING else "none"
    choices.logging = _ask(questionary.select("Logging:", choices=[questionary.Choice(v, value=k) for k, v in LOGGING.items()],
                                              default=log_default))
    if choices.logging == log_default:
        choices.logging = None
    choices.output_dir = _ask(questionary.text("Run directory:", default=str(base.get("output_dir", "runs/my-run")),
                                               validate=lambda t: bool(t.strip()) or "give a directory"))
    return choices


def _ask_rewards(questionary, base: dict, choices: InitChoices, names: list[str]) -> None:
    from r1cli.rewards.calculator import DEFAULT_REWARDS

    current = list(base.get("reward_funcs") or DEFAULT_REWARDS)
    picked = _ask(questionary.checkbox("Rewards:", instruction="(space ticks, Enter confirms)", validate=check_rewards,
                                       choices=[questionary.Choice(n, checked=n in current) for n in names]))
    # Keep the template's order for rewards it already had; new ones follow.
    choices.rewards = [n for n in current if n in picked] + [n for n in picked if n not in current]
    weights = base.get("reward_weights") if choices.rewards == current else None
    default_weights = ",".join(f"{float(w):g}" for w in (weights or [1.0] * len(choices.rewards)))
    text = _ask(questionary.text(f"Weights for {', '.join(choices.rewards)}:", default=default_weights,
                                 validate=weights_check(len(choices.rewards))))
    choices.weights = [float(w) for w in text.split(",") if w.strip()] or None
