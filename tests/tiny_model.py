"""A tiny local chat model for tests: no network, built in about a second.

``build_tiny_model(directory)`` trains a byte-level BPE tokenizer on a few lines
(with the ChatML special tokens and a pad token), gives it a ChatML chat
template, creates a randomly initialised 2-layer Qwen2 model sized to that
vocabulary and saves both with ``save_pretrained`` into ``directory``, so tests
load it back by path exactly like a real checkpoint. The ``tiny_model_dir``
fixture in ``conftest.py`` builds it once per test session.

The weights are random, so completions are gibberish; tests use deterministic
reward functions and only rely on shapes, determinism and plumbing.
"""

from __future__ import annotations

from pathlib import Path

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>"]

# A few lines of math-flavoured text: enough merges for short prompts to be a handful of tokens.
_CORPUS = [
    "What is 2 + 3? Think step by step.",
    "The answer is 5. <think>two plus three</think> <answer>5</answer>",
    "Solve for x: x * 4 = 12. The answer is \\boxed{3}.",
    "system user assistant: please reason carefully and answer.",
    "Compute 7 - 2, then multiply by 3. Result: 15.",
    "flat prompt, spread prompt, question number one two three four.",
]


def build_tiny_model(directory: str | Path, *, seed: int = 0, hidden_size: int = 32) -> Path:
    """Build and save the tiny tokenizer + Qwen2 model into ``directory``; return the path."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    raw.train_from_iterator(_CORPUS, trainer=trainer)

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|pad|>",
        unk_token=None,
        additional_special_tokens=["<|im_start|>", "<|endoftext|>"],
    )
    tokenizer.chat_template = CHATML_TEMPLATE
    tokenizer.save_pretrained(directory)

    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
        # Wider than the usual 0.02 so greedy decoding is not one repeated token: tests compare outputs.
        initializer_range=0.3,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(directory)
    return directory
