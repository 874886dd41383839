"""Shared fixtures: tiny models built in code, their data, and paths to real models."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import edgekit  # noqa: F401  (before any framework: blocks triton, see edgekit.block_triton)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
# The third-party test models live outside the repo; EDGEKIT_SHARED_MODELS points elsewhere.
SHARED = Path(os.environ.get("EDGEKIT_SHARED_MODELS", ROOT / ".." / "shared" / "models")).resolve()
MLPERF = SHARED / "mlperf_tiny"
EXAMPLE = ROOT / "examples" / "digits"
# The third-party int8 models the standalone C is proven on (the "done when" set).
INT8_MODELS = {
    "pretrainedResnet_quant": MLPERF / "image_classification" / "pretrainedResnet_quant.tflite",
    "kws_ref_model": MLPERF / "keyword_spotting" / "kws_ref_model.tflite",
    "vww_96_int8": MLPERF / "visual_wake_words" / "vww_96_int8.tflite",
    "ad01_int8": MLPERF / "anomaly_detection" / "ad01_int8.tflite",
    "person_detect": SHARED / "tflm" / "person_detect.tflite",
}


def run_cli(*args, cwd=None, timeout=600) -> subprocess.CompletedProcess:
    """Run the real ``edgekit`` CLI in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "edgekit.cli", *map(str, args)],
        capture_output=True, text=True, cwd=cwd or ROOT, timeout=timeout,
    )  # fmt: skip


@pytest.fixture(scope="module")
def firmware_objects():
    """One TFLM object cache for every firmware test and run (the repo's build/ folder), pointed
    at by EDGEKIT_TFLM_OBJECTS for the module's builds and the CLI's; fails without the toolchain."""
    import shutil

    from targets.tflm.firmware import default_tflm_root

    if not default_tflm_root("reference").is_dir() or not all(shutil.which(t) for t in ("arm-none-eabi-gcc", "qemu-system-arm", "make")):
        pytest.fail("the firmware tests need ../shared/tflm and `make toolchain` (gcc-arm-none-eabi, qemu-system-arm)")
    with shared_object_cache() as path:
        yield path


@contextlib.contextmanager
def shared_object_cache():
    """EDGEKIT_TFLM_OBJECTS pointed at the repo's build/test-tflm-objects while the block runs:
    compiled TFLM and kernel objects shared by every test module and run."""
    path = ROOT / "build" / "test-tflm-objects"
    path.mkdir(parents=True, exist_ok=True)
    before = os.environ.get("EDGEKIT_TFLM_OBJECTS")
    os.environ["EDGEKIT_TFLM_OBJECTS"] = str(path)
    try:
        yield path
    finally:
        if before is None:
            os.environ.pop("EDGEKIT_TFLM_OBJECTS", None)
        else:
            os.environ["EDGEKIT_TFLM_OBJECTS"] = before


def needs_shared():
    return pytest.mark.skipif(not SHARED.exists(), reason="../shared/models is not present")


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


def _tiny_keras():
    import keras

    keras.utils.set_random_seed(7)
    # Explicit layer names: Keras numbers unnamed layers from a process-wide counter, so the
    # model (and every golden file made from it) would depend on which tests built layers first.
    return keras.Sequential(
        [
            keras.Input((6, 6, 1), name="pixels"),
            keras.layers.Conv2D(8, 3, activation="relu", name="conv2d"),
            keras.layers.DepthwiseConv2D(3, padding="same", activation="relu", name="depthwise_conv2d"),
            keras.layers.Flatten(name="flatten"),
            # 128 x 16 = 2048 weights: big enough for dynamic-range quantization (>= 1024).
            keras.layers.Dense(16, activation="relu", name="dense"),
            keras.layers.Dense(3, activation="softmax", name="scores"),
        ],
        name="tiny",
    )


@pytest.fixture(scope="session")
def tiny_keras(model_dir) -> Path:
    """A 6x6x1 -> 3-class Keras 3 model, saved as .keras."""
    path = model_dir / "tiny.keras"
    _tiny_keras().save(path)
    return path


@pytest.fixture(scope="session")
def tiny_h5(model_dir) -> Path:
    """The same kind of model saved as Keras 3 HDF5."""
    path = model_dir / "tiny_k3.h5"
    _tiny_keras().save(path)
    return path


@pytest.fixture(scope="session")
def legacy_h5(model_dir) -> Path:
    """A Keras 2 (tf_keras) HDF5 file with DepthwiseConv2D, like the MLPerf Tiny models."""
    import tf_keras

    tf_keras.utils.set_random_seed(3)
    model = tf_keras.Sequential(
        [
            tf_keras.Input((8, 8, 2), name="features"),
            tf_keras.layers.DepthwiseConv2D(3, padding="same"),
            tf_keras.layers.BatchNormalization(),
            tf_keras.layers.ReLU(6.0),
            tf_keras.layers.GlobalAveragePooling2D(),
            tf_keras.layers.Dense(4, activation="softmax"),
        ]
    )
    path = model_dir / "legacy.h5"
    model.save(path)
    return path


@pytest.fixture(scope="session")
def saved_model(model_dir) -> Path:
    """A plain tf.Module SavedModel (no Keras) with a dynamic batch signature."""
    import tensorflow as tf

    class Affine(tf.Module):
        def __init__(self):
            super().__init__()
            rng = np.random.default_rng(0)
            self.w = tf.Variable(rng.normal(size=(5, 3)).astype(np.float32))
            self.b = tf.Variable(np.arange(3, dtype=np.float32))

        @tf.function(input_signature=[tf.TensorSpec([None, 5], tf.float32, name="x")])
        def __call__(self, x):
            return {"y": tf.nn.softmax(tf.matmul(x, self.w) + self.b)}

    module = Affine()
    path = model_dir / "affine_sm"
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.__call__})
    return path


@pytest.fixture(scope="session")
def lambda_keras(model_dir) -> Path:
    """A Keras 3 model with a Lambda layer (Python bytecode in the file)."""
    import keras

    inp = keras.Input((4,), name="x")
    out = keras.layers.Lambda(lambda t: t * 2.0, name="double")(inp)
    path = model_dir / "lambda.keras"
    keras.Model(inp, out).save(path)
    return path


@pytest.fixture(scope="session")
def multi_input_keras(model_dir) -> Path:
    import keras

    keras.utils.set_random_seed(5)
    a = keras.Input((4,), name="a")
    b = keras.Input((2,), name="b")
    x = keras.layers.Concatenate()([keras.layers.Dense(3)(a), b])
    out = keras.layers.Dense(2, activation="softmax", name="out")(x)
    path = model_dir / "two_inputs.keras"
    keras.Model([a, b], out).save(path)
    return path


@pytest.fixture(scope="session")
def tiny_data(model_dir) -> Path:
    """Calibration/evaluation data for the tiny model (x in [0, 1), labels 0..2)."""
    rng = np.random.default_rng(11)
    path = model_dir / "tiny_data.npz"
    np.savez(path, x=rng.random((40, 6, 6, 1), np.float32), y=rng.integers(0, 3, 40))
    return path


def make_outlier_digits(path: Path) -> str:
    """The digits model with one conv2 filter scaled 300x and its effect cancelled downstream.

    The float model computes the same thing, but int8 gives conv2's output one scale for all
    64 channels, so the outlier channel leaves the other 63 with almost no resolution: a
    layer damaged by quantization on purpose. Returns conv2's layer name.
    """
    import keras

    model = keras.models.load_model(EXAMPLE / "digits.keras")
    conv2, dense = model.layers[1], model.layers[4]
    kernel, bias = conv2.get_weights()
    kernel[..., 0] *= 300
    bias[0] *= 300
    conv2.set_weights([kernel, bias])
    w, b = dense.get_weights()
    w[0::64, :] = 0  # flatten order (h, w, c): every 64th input is channel 0
    dense.set_weights([w, b])
    model.save(path)
    return conv2.name
