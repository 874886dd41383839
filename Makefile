# Two commands do all set-up: `make demo` and `make test` (each creates .venv if needed).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.edgekit-installed

.PHONY: demo test test-fast bench venv clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "edgekit needs Python 3.10 or newer"'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/edgekit export examples/digits/digits.keras --target tflite \
		--quant float32,float16,dynamic,int8,int16x8 \
		--calib examples/digits/calib.npz --eval examples/digits/eval.npz \
		--out build/demo --force

test: $(STAMP)
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

bench: $(STAMP)
	$(PY) benchmarks/bench_export.py

clean:
	rm -rf build .pytest_cache
