"""Columns and prompts: which column is the problem, which the gold, and the chat messages built from them.

GRPO rows become ``{"prompt": [system?, user], "solution": gold, ...}``: TRL
applies the chat template to ``prompt``, and every other column (``solution``
included) reaches the reward functions. SFT rows become conversational
``prompt``/``completion`` pairs so that TRL computes the loss on the
completion only.
"""

from __future__ import annotations

from r1cli.errors import DataError

PROMPT_COLUMNS = ("prompt", "problem", "question", "query", "instruction")
SOLUTION_COLUMNS = ("solution", "answer", "gold", "target")
COMPLETION_COLUMNS = ("completion", "response", "output", "solution", "answer")


def pick_column(columns: list[str], wanted: str | None, candidates: tuple[str, ...], role: str, key: str) -> str:
    """The named column if present, else the first candidate present; DataError naming what exists."""
    if wanted:
        if wanted not in columns:
            raise DataError(f"{key}: column {wanted!r} not in the dataset", hint=f"columns are: {', '.join(columns)}")
        return wanted
    for name in candidates:
        if name in columns:
            return name
    raise DataError(f"no {role} column found (looked for {', '.join(candidates)})",
                    hint=f"set {key} to one of: {', '.join(columns)}")


def build_messages(text, system_prompt: str | None) -> list[dict]:
    """A prompt as chat messages. A column that already holds messages is kept, with the system prompt added."""
    if isinstance(text, list) and text and isinstance(text[0], dict):
        messages = list(text)
        if system_prompt and messages[0].get("role") != "system":
            messages.insert(0, {"role": "system", "content": system_prompt})
        return messages
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return messages + [{"role": "user", "content": str(text)}]


def render_prompt(tokenizer, prompt, chat_template_kwargs: dict | None = None) -> str:
    """The text the model sees for ``prompt``: chat template for messages, the string itself otherwise.

    The one rendering rule of ``r1 eval``, real-time eval, ``dry-run`` and ``validate --deep``.
    """
    if isinstance(prompt, str):
        return prompt
    return tokenizer.apply_chat_template(
        list(prompt), tokenize=False, add_generation_prompt=True, **(chat_template_kwargs or {})
    )


def prepare_grpo(dataset, *, prompt_column: str | None, solution_column: str | None, system_prompt: str | None):
    """``prompt`` as chat messages and ``solution`` as the gold, other columns kept for custom rewards."""
    columns = list(dataset.column_names)
    source = pick_column(columns, prompt_column, PROMPT_COLUMNS, "prompt", "dataset_prompt_column")
    gold = pick_column(columns, solution_column, SOLUTION_COLUMNS, "gold answer", "dataset_solution_column")

    def convert(row):
        return {"prompt": build_messages(row[source], system_prompt), "solution": str(row[gold])}

    drop = [c for c in ("prompt", "solution") if c in columns and c not in (source, gold)]
    return dataset.remove_columns(drop).map(convert, desc=None) if drop else dataset.map(convert, desc=None)


def prepare_sft(dataset, *, prompt_column: str | None, completion_column: str | None, system_prompt: str | None):
    """Conversational ``prompt``/``completion`` pairs (or ``messages`` kept as they are)."""
    columns = list(dataset.column_names)
    if "messages" in columns and not prompt_column:
        return dataset.select_columns(["messages"])
    source = pick_column(columns, prompt_column, PROMPT_COLUMNS, "prompt", "dataset_prompt_column")
    target = pick_column([c for c in columns if c != source], completion_column, COMPLETION_COLUMNS,
                         "completion", "dataset_completion_column")

    def convert(row):
        return {"prompt": build_messages(row[source], system_prompt),
                "completion": [{"role": "assistant", "content": str(row[target])}]}

    return dataset.map(convert, remove_columns=columns, desc=None)
