"""The interactive `r1 init` wizard: questionary prompts that fill an InitChoices.

Every question's default is the template's value, so pressing Enter through
the whole wizard gives the template unchanged (a valid recipe).
"""

from __future__ import annotations

from r1cli.config.scaffold import HARDWARE, LOGGING, InitChoices
from r1cli.config.templates import Template, list_templates
from r1cli.errors import UsageError


def _ask(question):
    answer = question.ask()
    if answer is None:  # Ctrl-C / Esc inside questionary
        raise UsageError("init cancelled; nothing was written")
    return answer


def choose_template(default: str) -> str:
    import questionary

    options = [questionary.Choice(f"{t.name:15} {t.description}", value=t.name) for t in list_templates()]
    return _ask(questionary.select("Template:", choices=options, default=default))


def run_wizard(template: Template) -> InitChoices:
    import questionary

    from r1cli.rewards.registry import available_rewards

    base = template.values()
    choices = InitChoices()
    choices.model = _ask(questionary.text("Model (hub id, local directory or .gguf):", default=str(base.get("model_name_or_path", ""))))
    choices.dataset = _ask(questionary.text("Training data (hub id or local file):", default=str(base.get("dataset_name", ""))))
    choices.prompt_column = _ask(questionary.text("Prompt column (empty: detect):", default=base.get("dataset_prompt_column") or "")) or None
    choices.solution_column = _ask(questionary.text("Gold answer column (empty: detect):", default=base.get("dataset_solution_column") or "")) or None
    if base.get("trainer", "grpo") == "grpo":
        from r1cli.rewards.calculator import DEFAULT_REWARDS

        current = base.get("reward_funcs", list(DEFAULT_REWARDS))
        picked = _ask(questionary.checkbox("Rewards:", choices=[questionary.Choice(n, checked=n in current) for n in available_rewards()]))
        # Keep the template's order for rewards it already had; new ones follow.
        choices.rewards = [n for n in current if n in picked] + [n for n in picked if n not in current] or current
        weights = base.get("reward_weights") if choices.rewards == current else None
        default_weights = ",".join(str(w) for w in (weights or [1.0] * len(choices.rewards)))
        text = _ask(questionary.text(f"Weights for {', '.join(choices.rewards)}:", default=default_weights))
        choices.weights = [float(w) for w in text.split(",")] if text.strip() else None
        choices.reject_sampling = _ask(questionary.confirm("Reject sampling (regenerate groups with no learning signal)?",
                                                           default=bool(base.get("use_reject_sampling", False))))
        eval_default = base.get("eval_dataset_name") or ""
        choices.eval_dataset = _ask(questionary.text("Real-time eval dataset (empty: off):", default=str(eval_default)))
        if choices.eval_dataset == str(eval_default):
            choices.eval_dataset = None  # unchanged: keep the template's eval settings
    hardware_default = "cpu" if base.get("use_cpu") else ("zero3" if base.get("accelerate_config") == "zero3" else "gpu")
    choices.hardware = _ask(questionary.select("Hardware:", choices=[questionary.Choice(v, value=k) for k, v in HARDWARE.items()],
                                               default=hardware_default))
    log_default = base.get("report_to", "none") if base.get("report_to") in LOGGING else "none"
    choices.logging = _ask(questionary.select("Logging:", choices=[questionary.Choice(v, value=k) for k, v in LOGGING.items()],
                                              default=log_default))
    choices.output_dir = _ask(questionary.text("Run directory:", default=str(base.get("output_dir", "runs/my-run"))))
    return choices
