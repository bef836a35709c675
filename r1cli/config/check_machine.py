"""The "launch" layer of validation: the recipe against this machine, and the arithmetic of the process layout.

Two kinds of finding come out of here. A recipe that contradicts itself (4-bit and 8-bit at once,
quantized weights without LoRA, a machine rank past the machine count) is an error. A recipe this
machine cannot run (vLLM, Liger, bitsandbytes or flash-attn not installed, no GPU for them, more
processes than GPUs, a batch that only divides over more processes than this launch has) is a
*machine* finding (``raw.machine``): ``r1 validate`` warns and names what is missing, ``r1 validate
--here`` and ``r1 grpo`` / ``r1 sft`` refuse.
"""

from __future__ import annotations

import difflib

from r1cli import hardware
from r1cli.config.check_values import value_of
from r1cli.config.loader import RawRecipe
from r1cli.config.schema import R1_KEYS
from r1cli.errors import R1Error

# Keys that ask for a GPU-only package: (key, package, what it does).
GPU_PACKAGES = (("use_vllm", "vllm", "vLLM generation"), ("use_liger_kernel", "liger_kernel", "Liger kernels"),
                ("load_in_4bit", "bitsandbytes", "4-bit loading"), ("load_in_8bit", "bitsandbytes", "8-bit loading"))
# attn_implementation values that need a CUDA GPU and a package: value -> package.
GPU_ATTENTION = {"flash_attention_2": "flash_attn", "flash_attention_3": "flash_attn_interface"}
PROCESS_COUNTS_SHOWN = 16  # "works with 2, 4, 8 processes": counts up to this many


def check_accelerators(raw: RawRecipe) -> None:
    """vLLM, Liger kernels, 4/8-bit loading, flash attention: installed, and a GPU to run them on."""
    if value_of(raw, "load_in_4bit") and value_of(raw, "load_in_8bit"):
        raw.error("load_in_4bit", "load_in_4bit and load_in_8bit are both on", "choose one")
    for key_name, package, what in GPU_PACKAGES:
        if not value_of(raw, key_name):
            continue
        problem = hardware.vllm_problem() if package == "vllm" else hardware.gpu_package_problem(package)
        if problem is None:
            continue
        fix = (f"pip install {package.replace('_', '-')} (GPU only), or set {key_name}: false" if problem.missing == "package"
               else f"run it on a GPU machine, or set {key_name}: false here")
        raw.machine(key_name, f"{what} needs {problem.reason}", fix)
    attention = value_of(raw, "attn_implementation")
    if isinstance(attention, str) and attention in GPU_ATTENTION:
        problem = hardware.gpu_package_problem(GPU_ATTENTION[attention])
        if problem is not None:
            raw.machine("attn_implementation", f"{attention} needs {problem.reason}",
                        "run it on a GPU machine with flash-attn, or use attn_implementation: sdpa")
    for bits in ("load_in_4bit", "load_in_8bit"):
        if value_of(raw, bits) and not value_of(raw, "use_peft"):
            raw.error(bits, "quantized weights cannot be trained directly; QLoRA trains LoRA adapters on top of them",
                      f"add `use_peft: true`, or set {bits}: false")
    mode = value_of(raw, "vllm_mode")
    if "vllm_mode" in raw.values and mode not in ("colocate", "server"):
        close = difflib.get_close_matches(str(mode), ["colocate", "server"], n=1)
        raw.error("vllm_mode", f"{mode!r} is not one of colocate, server",
                  f"did you mean `{close[0]}`?" if close else "colocate shares the training GPUs; server uses `r1 vllm-serve`")
    if value_of(raw, "use_vllm") and mode == "server" and not value_of(raw, "vllm_server_base_url") \
            and value_of(raw, "vllm_server_host") in ("0.0.0.0", "", None) and (value_of(raw, "num_machines") or 1) > 1:
        raw.error("vllm_server_host", "a multi-node run needs the vLLM server's address, not 0.0.0.0",
                  "set vllm_server_host to the machine running `r1 vllm-serve`")


def launch_given(raw: RawRecipe) -> bool:
    """Does the recipe (or --set / a launch flag) say how many processes the run has?"""
    return any(name in raw.values for name in ("num_processes", "accelerate_config", "num_machines"))


def check_launch(raw: RawRecipe, trainer: str) -> None:
    """Launch settings: the accelerate config, the process layout against this machine, the global batch."""
    from r1cli.config.launch import launch_plan

    try:
        plan = launch_plan({name: value_of(raw, name) for name in R1_KEYS} | raw.values, gpus=hardware.gpu_count())
    except R1Error as exc:
        raw.error("accelerate_config" if value_of(raw, "accelerate_config") else "num_processes", exc.message, exc.hint)
        plan = None
    except (TypeError, ValueError, OverflowError):
        plan = None  # a launch key of the wrong type, already reported
    processes = plan.num_processes if plan else 1
    machines = value_of(raw, "num_machines") or 1
    rank = value_of(raw, "machine_rank") or 0
    port = value_of(raw, "main_process_port")
    if isinstance(machines, int) and isinstance(rank, int) and rank >= machines:
        raw.error("machine_rank", f"{rank} is not below num_machines ({machines})", f"use 0 to {machines - 1}")
    if isinstance(machines, int) and machines > 1:
        if not value_of(raw, "main_process_ip"):
            raw.error("num_machines", "a multi-node run needs main_process_ip (the address of machine 0)",
                      "set main_process_ip, or pass --main-process-ip")
        if port == 0:
            raw.error("main_process_port", "0 (a free port) works on one machine only: the others must know the port",
                      "choose a port, e.g. 29500")
        if processes % machines:
            raw.error("num_processes", f"{processes} processes do not split evenly over {machines} machines",
                      f"use a multiple of {machines}")
    if plan is not None:
        _check_devices(raw, plan)
    if trainer == "grpo":
        _check_global_batch(raw, processes)


def _check_devices(raw: RawRecipe, plan) -> None:
    """Can this machine run the launch? Each problem is a machine finding (the recipe may be meant for another one)."""
    from r1cli.config.launch import launch_problems

    gpus = hardware.gpu_count()
    key = "accelerate_config" if value_of(raw, "accelerate_config") else "num_processes"
    for problem in launch_problems(plan, gpus=gpus, deepspeed_installed=hardware.package_available("deepspeed"), key=key):
        raw.machine(problem.key, f"{problem.message} (on this machine)", problem.hint)
    if gpus == 0 and plan.num_processes > 1 and plan.distributed_type not in ("DEEPSPEED", "FSDP"):
        raw.warning("num_processes", f"no GPU is visible: the {plan.num_processes} processes will train on the CPU (gloo)",
                    "fine for a test; on a GPU machine each process gets its own GPU")


def _generation_batch(raw: RawRecipe, processes: int) -> int | None:
    """Completions TRL generates at once: generation_batch_size, else per_device x processes x steps_per_generation."""
    generation_batch = value_of(raw, "generation_batch_size")
    if generation_batch is not None:
        return generation_batch if isinstance(generation_batch, int) else None
    per_device = value_of(raw, "per_device_train_batch_size") or 8
    steps = value_of(raw, "steps_per_generation") or value_of(raw, "gradient_accumulation_steps") or 1
    return per_device * processes * steps if all(isinstance(v, int) for v in (per_device, steps)) else None


def _check_global_batch(raw: RawRecipe, processes: int) -> None:
    generations = value_of(raw, "num_generations") or 8
    generation_batch = _generation_batch(raw, processes)
    if not isinstance(generation_batch, int) or not isinstance(generations, int) or generations <= 0 \
            or generation_batch % generations == 0:
        return
    # The finding goes to a key the recipe writes (the batch keys may all be defaults but one).
    batch_keys = ("num_generations", "generation_batch_size", "per_device_train_batch_size", "steps_per_generation",
                  "gradient_accumulation_steps")
    key = next((k for k in batch_keys if k in raw.lines), "num_generations")
    line = None if key in raw.lines else 1
    if value_of(raw, "generation_batch_size") is not None or launch_given(raw):
        across = f" x {processes} processes" if processes > 1 else ""
        raw.error(key, f"the generation batch ({generation_batch} completions = per_device_train_batch_size"
                  f"{across} x steps_per_generation) is not divisible by num_generations ({generations})",
                  "make per_device_train_batch_size x processes x gradient_accumulation_steps a multiple of num_generations",
                  line=line)
        return
    # No launch settings: the recipe may be written for a launch with more processes than this one.
    working = [n for n in range(1, PROCESS_COUNTS_SHOWN + 1) if (_generation_batch(raw, n) or 1) % generations == 0]
    if working:
        raw.machine(key, f"with {processes} process the generation batch ({generation_batch} completions) is "
                    f"not divisible by num_generations ({generations}); it is with "
                    f"{', '.join(map(str, working))} processes",
                    f"launch with num_processes: {working[0]} (or --num-processes {working[0]})")
    else:
        raw.error(key, f"the generation batch ({generation_batch} completions = per_device_train_batch_size x "
                  f"processes x steps_per_generation) is not divisible by num_generations ({generations}) for any "
                  f"process count up to {PROCESS_COUNTS_SHOWN}",
                  "make per_device_train_batch_size x gradient_accumulation_steps a multiple of num_generations", line=line)
