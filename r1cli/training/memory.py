"""Back-of-the-envelope memory and step estimates for `r1 dry-run`.

Pure arithmetic on counts, so every figure can be checked by hand:

* weights: parameters x bytes per parameter (2 for bf16/fp16, 4 for fp32);
* gradients: trainable parameters x the same bytes;
* optimizer: AdamW keeps two fp32 moments per trainable parameter (8 bytes),
  plus an fp32 master copy (4 bytes) when training in bf16/fp16;
* reference model (GRPO with ``beta > 0``): another copy of the weights;
* generation cache: keys and values for every layer, for the whole
  generation batch on this device, prompt plus completion tokens.

Activations are left out: they depend on kernels and checkpointing. The
estimate is a floor, and the dry-run says so.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}


@dataclass
class ModelShape:
    parameters: int
    trainable: int
    layers: int
    kv_heads: int
    head_dim: int


@dataclass
class MemoryEstimate:
    weights: int
    gradients: int
    optimizer: int
    reference_model: int
    generation_cache: int

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer + self.reference_model + self.generation_cache

    def as_dict(self) -> dict[str, int]:
        return {**asdict(self), "total": self.total}


def estimate_memory(shape: ModelShape, *, dtype: str, beta: float, grpo: bool, generation_batch: int,
                    sequence_length: int) -> MemoryEstimate:
    per_param = BYTES.get(dtype, 4)
    weights = shape.parameters * per_param
    gradients = shape.trainable * per_param
    optimizer = shape.trainable * (8 + (4 if per_param < 4 else 0))
    reference = weights if grpo and beta > 0 else 0
    cache = (2 * shape.layers * shape.kv_heads * shape.head_dim * sequence_length * generation_batch * per_param) if grpo else 0
    return MemoryEstimate(weights, gradients, optimizer, reference, cache)


@dataclass
class StepPlan:
    rows: int
    samples_per_step: int  # prompts (GRPO) or examples (SFT) consumed by one optimizer step
    steps_per_epoch: int
    total_steps: int
    epochs: float


def plan_steps(*, rows: int, per_device_batch: int, grad_accum: int, processes: int, num_generations: int | None,
               max_steps: int, epochs: float) -> StepPlan:
    """How many optimizer steps a run takes, the way the trainers count them.

    GRPO: each optimizer step trains on per_device x processes x accumulation completions,
    num_generations of them per prompt.
    """
    completions = per_device_batch * processes * grad_accum
    samples = max(1, completions // num_generations) if num_generations else completions
    steps_per_epoch = max(1, math.ceil(rows / samples))
    if max_steps and max_steps > 0:
        return StepPlan(rows, samples, steps_per_epoch, max_steps, round(max_steps / steps_per_epoch, 3))
    total = math.ceil(steps_per_epoch * epochs)
    return StepPlan(rows, samples, steps_per_epoch, total, epochs)

