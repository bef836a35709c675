"""`r1 validate --deep`: the checks that need the tokenizer and real dataset rows.

Slower than the rest of validation (it imports transformers and datasets), so
it runs only on request. It loads the tokenizer and the first rows of the
training data, checks the prompt and gold columns exist, renders one prompt
through the chat template, and warns when the template already opens
``<think>`` -- the model then never writes that tag itself, so a reward that
looks for it never fires.
"""

from __future__ import annotations

from typing import Any

from r1cli.config.loader import RawRecipe
from r1cli.errors import R1Error

PREVIEW_ROWS = 4


def deep_checks(raw: RawRecipe, values: dict[str, Any]) -> str | None:
    """Add findings to ``raw``; return the first prompt as the model will see it (or None)."""
    from r1cli.data.prompts import (
        COMPLETION_COLUMNS,
        PROMPT_COLUMNS,
        SOLUTION_COLUMNS,
        build_messages,
        pick_column,
        render_prompt,
    )
    from r1cli.data.sources import load_mixture, load_source
    from r1cli.models.loading import load_tokenizer

    try:
        tokenizer = load_tokenizer(values["model_name_or_path"], chat_template=values.get("chat_template"),
                                   trust_remote_code=bool(values.get("trust_remote_code")), gguf_file=values.get("gguf_file"))
    except R1Error as exc:
        raw.error("model_name_or_path", f"tokenizer could not be loaded: {exc.message}", exc.hint or "check the model id or path")
        return None
    try:
        if values.get("dataset_mixture"):
            dataset = load_mixture(values["dataset_mixture"], seed=values.get("seed") or 0)
        else:
            dataset = load_source(values["dataset_name"], config=values.get("dataset_config"),
                                  split=values.get("dataset_train_split") or "train", size=PREVIEW_ROWS)
    except R1Error as exc:
        raw.error("dataset_name", exc.message, exc.hint)
        return None
    if len(dataset) == 0:
        raw.error("dataset_name", "the training split is empty", "check dataset_train_split")
        return None
    rows = dataset.select(range(min(PREVIEW_ROWS, len(dataset))))
    columns = list(rows.column_names)
    try:
        prompt_column = pick_column(columns, values.get("dataset_prompt_column"), PROMPT_COLUMNS, "prompt", "dataset_prompt_column")
    except R1Error as exc:
        raw.error("dataset_prompt_column", exc.message, exc.hint)
        return None
    gold_key, gold_candidates = (("dataset_solution_column", SOLUTION_COLUMNS) if values.get("trainer") != "sft"
                                 else ("dataset_completion_column", COMPLETION_COLUMNS))
    try:
        pick_column([c for c in columns if c != prompt_column], values.get(gold_key), gold_candidates, "gold answer", gold_key)
    except R1Error as exc:
        raw.error(gold_key, exc.message, exc.hint)
    messages = build_messages(rows[0][prompt_column], values.get("system_prompt"))
    try:
        rendered = render_prompt(tokenizer, messages)
    except Exception as exc:  # a broken Jinja template raises many different types
        raw.error("chat_template", f"the chat template failed on the first prompt: {exc}", "fix or remove chat_template")
        return None
    if rendered.rstrip().endswith("<think>"):
        raw.warning("chat_template", "the chat template already opens <think>, so the model never writes it and "
                    "the format and tag_count rewards cannot reach full score",
                    "use a chat template that ends at the assistant turn, or a reward that does not require <think>")
    return rendered
