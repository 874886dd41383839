# Two commands do all set-up: `make demo` and `make test` (each creates .venv if needed).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.edgekit-installed
# Extras make installs: tests need dev and torch (PyTorch sources); EXTRAS=dev skips PyTorch.
# The torch extra is large (CUDA torch from PyPI, ~5.5 GB): pip's wheel cache (~/.cache/pip,
# on by default; keep it between CI runs) makes a fresh venv a local copy, not a download.
EXTRAS ?= dev,torch

.PHONY: demo test test-firmware test-long test-fast fuzz bench calibrate icount docs venv clean toolchain

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "edgekit needs Python 3.10 or newer"'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	@touch $(STAMP)

venv: $(STAMP)

# Compilers and the emulator the firmware builds and tests need: gcc/g++, the Arm cross compiler
# with newlib and libstdc++, qemu-system-arm (Debian packages); chromium for the headless browser
# check of the build report. apt-get waits for a dpkg lock another install holds.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
APT := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600
toolchain:
	@command -v arm-none-eabi-gcc >/dev/null 2>&1 && command -v g++ >/dev/null 2>&1 && \
		command -v qemu-system-arm >/dev/null 2>&1 && command -v cmake >/dev/null 2>&1 || { \
		echo "installing gcc-arm-none-eabi, libnewlib-arm-none-eabi, libstdc++-arm-none-eabi-newlib, qemu-system-arm, g++ and cmake (apt-get)"; \
		$(APT) update -qq && \
		$(APT) install -y -qq gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm g++ make cmake; }
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing chromium (apt-get), for the headless check of report.html"; \
		$(APT) update -qq && $(APT) install -y -qq chromium; }

demo: $(STAMP)
	$(VENV)/bin/edgekit export examples/digits/digits.keras --target tflite,tflm \
		--quant tflite=float32,tflite=float16,tflite=dynamic,tflite=int8,tflite=int16x8,tflm=int8 \
		--calib examples/digits/calib.npz --eval examples/digits/eval.npz \
		--out build/demo --force

# Test modules run in parallel, whole modules per worker (module fixtures are shared exports);
# each worker loads TensorFlow, so more workers than cores only costs memory.
TEST_WORKERS ?= 2

test: $(STAMP) toolchain
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not firmware and not long" --durations=20

# The whole firmware matrix (tests/test_firmware_matrix.py): 6 models x 3 (board, kernels) builds
# under QEMU; `make test` builds each (board, kernel library) once (digits, and KWS on the M4 with
# CMSIS-NN). The CMake project's build (it compiles TFLM outside the object cache), the >1 MB shared
# models' sources compiled for the host and Cortex-M. Also the standalone C
# of the issue-17 models on the Cortex-M4 and M55 (tests/targets/c/test_c_firmware.py, test_qemu_runner.py),
# and int16x8 with CMSIS-NN against TFLM's CMSIS-NN firmware (test_cmsis_int16x8.py).
test-firmware: $(STAMP) toolchain
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup -m firmware tests/test_firmware_matrix.py tests/test_firmware.py tests/test_firmware_build.py tests/targets/c/test_c_firmware.py tests/targets/c/test_qemu_runner.py tests/targets/c/test_cmsis_int16x8.py --durations=5

# torchvision MobileNetV3-Small and ResNet-18, trained briefly on synthetic classes (the weights
# are cached in ~/.cache/edgekit/test-torchvision), to every target (tests/targets/test_torchvision.py).
test-long: $(STAMP)
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m long --durations=5

test-fast: $(STAMP)
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not slow"

# Long fuzzing campaign (hypothesis): malformed models, data, configs and device profiles
# through inspect/header/export/validate/simulate; prints counts by outcome.
fuzz: $(STAMP)
	$(PY) -m tests.fuzz_campaign --examples $(or $(EXAMPLES),3000)

# Refit the device latency cost model to edgekit/simulate/cost_model/published_latency.toml
# (and the instruction counts beside it).
calibrate: $(STAMP)
	$(PY) -m edgekit.simulate.latency_fit --write
	$(PY) tools/gen_docs.py

# Measure the MLPerf Tiny models' instructions per inference on the emulated Cortex-M boards
# (firmware builds + QEMU -icount, ~30 min with a cold object cache) into
# edgekit/simulate/cost_model/instruction_counts.json; then `make calibrate`.
icount: $(STAMP) toolchain
	$(PY) -m tools.measure_icount

# Rewrite the generated tables in docs/ (schemes, TFLM ops, latency calibration) from the code.
docs: $(STAMP)
	$(PY) tools/gen_docs.py

bench: $(STAMP)
	$(PY) benchmarks/bench_export.py
	$(PY) benchmarks/bench_validate.py
	$(PY) benchmarks/bench_openvino.py
	$(PY) benchmarks/bench_latency.py
	$(PY) benchmarks/c_memory.py
	$(PY) benchmarks/c_firmware.py

clean:
	rm -rf build .pytest_cache
