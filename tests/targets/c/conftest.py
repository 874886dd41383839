"""Shared by the c target's tests: the tiny model as int8 TFLite, and one kernel object
cache for every test (compiled once per session, like the firmware tests' TFLM objects)."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import shared_object_cache
from targets.tflm.firmware import default_tflm_root

TREE = default_tflm_root("reference")


def needs_compiler():
    have = TREE.is_dir() and shutil.which("gcc") and shutil.which("g++")
    return pytest.mark.skipif(not have, reason="needs gcc/g++ and ../shared/tflm/reference")


CROSS = TREE.is_dir() and shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm")
needs_cross = pytest.mark.skipif(not CROSS, reason="needs arm-none-eabi-gcc, qemu-system-arm and ../shared/tflm")


@pytest.fixture(scope="session")
def tiny_int8(tiny_keras, tiny_data, tmp_path_factory) -> bytes:
    from edgekit.data import Dataset
    from edgekit.model import load_model
    from quantize.spec import QuantSpec
    from targets.tflite.exporter import TFLiteTarget

    model = load_model(tiny_keras)
    out = tmp_path_factory.mktemp("c-tiny")
    return TFLiteTarget().export(model, QuantSpec("int8"), out, Dataset.open(tiny_data, model.inputs)).primary.read_bytes()


@pytest.fixture(scope="session", autouse=True)
def c_object_cache():
    """The kernel objects in the repo's build/ folder, shared by every test and run."""
    with shared_object_cache() as path:
        yield path


def _many_ops_keras():
    """A small model whose int8 conversion has the ops beyond the CNN basics: PAD, HARD_SWISH,
    LOGISTIC, MUL, CONCATENATION, MEAN, and (float I/O) QUANTIZE/DEQUANTIZE."""
    import keras

    keras.utils.set_random_seed(5)
    x = keras.Input((8, 8, 3), name="image")
    a = keras.layers.ZeroPadding2D(((2, 0), (1, 0)), name="pad")(x)  # asymmetric: not folded into the conv
    a = keras.layers.Conv2D(8, 3, name="conv")(a)
    h = keras.layers.Activation("hard_swish", name="hswish")(a)
    s = keras.layers.Activation("sigmoid", name="sig")(a)
    m = keras.layers.Multiply(name="mul")([h, s])
    c = keras.layers.Concatenate(name="concat")([m, a])
    g = keras.layers.GlobalAveragePooling2D(name="gap")(c)
    y = keras.layers.Dense(4, activation="softmax", name="scores")(g)
    return keras.Model(x, y, name="many_ops")


def int8_tflite(keras_model, x, tmp, io_dtype: str | None = None, scheme: str = "int8") -> bytes:
    """``keras_model`` converted to int8 (or ``scheme``) TFLite, calibrated on ``x``."""
    import numpy as np

    from edgekit.data import Dataset
    from edgekit.model import load_model
    from quantize.spec import QuantSpec
    from targets.tflite.exporter import TFLiteTarget

    keras_model.save(tmp / f"{keras_model.name}.keras")
    np.savez(tmp / "calib.npz", x=x.astype(np.float32))
    model = load_model(tmp / f"{keras_model.name}.keras")
    spec = QuantSpec(scheme, io_dtype=io_dtype) if io_dtype else QuantSpec(scheme)
    return TFLiteTarget().export(model, spec, tmp, Dataset.open(tmp / "calib.npz", model.inputs)).primary.read_bytes()


@pytest.fixture(scope="session")
def many_ops_int8(tmp_path_factory) -> bytes:
    """The many-op model as int8 TFLite with float32 input and output."""
    import numpy as np

    x = np.random.default_rng(2).normal(size=(32, 8, 8, 3))
    return int8_tflite(_many_ops_keras(), x, tmp_path_factory.mktemp("c-many"), io_dtype="float32")

def _activations_keras():
    """Standalone RELU (on the input: nothing to fuse into) and RELU6 (after a RESHAPE), and a
    MUL with a fused RELU6."""
    import keras

    keras.utils.set_random_seed(7)
    x = keras.Input((6, 6, 2), name="image")
    r = keras.layers.ReLU(name="relu")(x)
    a = keras.layers.Conv2D(4, 3, name="conv")(r)
    s = keras.layers.Activation("sigmoid", name="sig")(a)
    m = keras.layers.ReLU(6.0, name="mul_relu6")(keras.layers.Multiply(name="mul")([a, s]))
    f = keras.layers.ReLU(6.0, name="relu6")(keras.layers.Reshape((64,), name="flat")(m))
    y = keras.layers.Dense(3, name="logits")(f)
    return keras.Model(x, y, name="activations")


@pytest.fixture(scope="session")
def activations_int8(tmp_path_factory) -> bytes:
    """The activations model as int8 TFLite (int8 I/O), calibrated wide enough that the
    ReLUs clip (inputs around +-4)."""
    import numpy as np

    x = 4 * np.random.default_rng(3).normal(size=(32, 6, 6, 2))
    return int8_tflite(_activations_keras(), x, tmp_path_factory.mktemp("c-act"))


@pytest.fixture(scope="session")
def fc3d_int8(tmp_path_factory) -> bytes:
    """Dense layers on a sequence: FULLY_CONNECTED with 3-D outputs (keep_num_dims) and depths
    8 and 12, which TFLM's CMSIS-NN kernel runs as a 1x1 convolution."""
    import keras
    import numpy as np

    keras.utils.set_random_seed(8)
    x = keras.Input((4, 8), name="seq")
    y = keras.layers.Dense(3, name="d2")(keras.layers.Dense(12, activation="relu", name="d1")(x))
    calib = np.random.default_rng(3).normal(size=(32, 4, 8))
    return int8_tflite(keras.Model(x, y, name="fc3d"), calib, tmp_path_factory.mktemp("c-fc3d"))


@pytest.fixture(scope="session")
def transposes_int8(tmp_path_factory) -> bytes:
    """TRANSPOSE of 4 and 3 dimensions (Keras Permute) and PAD of 4 and 3 dimensions."""
    import keras
    import numpy as np

    keras.utils.set_random_seed(9)
    x = keras.Input((4, 6, 3), name="image")
    a = keras.layers.Permute((3, 1, 2), name="t4")(keras.layers.ZeroPadding2D(((1, 0), (0, 2)), name="pad4")(x))
    b = keras.layers.Permute((2, 1), name="t3")(keras.layers.Reshape((15, 2), name="r3")(keras.layers.Conv2D(
        2, 1, name="mix")(a)))  # fmt: skip
    c = keras.layers.ZeroPadding1D((2, 1), name="pad3")(b)
    y = keras.layers.Dense(3, name="logits")(keras.layers.Flatten(name="flat")(c))
    return int8_tflite(keras.Model(x, y, name="transposes"), np.random.default_rng(4).normal(size=(32, 4, 6, 3)),
                       tmp_path_factory.mktemp("c-tr"))  # fmt: skip


@pytest.fixture(scope="session")
def tiny_int16x8(tiny_keras, tiny_data, tmp_path_factory) -> bytes:
    """The tiny model as int16x8 TFLite (int16 activations and I/O, int8 weights, int64 biases)."""
    from edgekit.data import Dataset
    from edgekit.model import load_model
    from quantize.spec import QuantSpec
    from targets.tflite.exporter import TFLiteTarget

    model = load_model(tiny_keras)
    out = tmp_path_factory.mktemp("c-tiny16")
    return TFLiteTarget().export(model, QuantSpec("int16x8"), out, Dataset.open(tiny_data, model.inputs)).primary.read_bytes()


def _int16_ops_keras():
    """The ops with an int16x8 path beyond the tiny model's: PAD, DEPTHWISE_CONV_2D, ADD, MUL,
    CONCATENATION, MAX_POOL_2D, AVERAGE_POOL_2D, MEAN, SOFTMAX (and float QUANTIZE/DEQUANTIZE)."""
    import keras

    keras.utils.set_random_seed(11)
    x = keras.Input((8, 8, 3), name="image")
    c = keras.layers.Conv2D(8, 3, activation="relu", name="conv")(keras.layers.ZeroPadding2D(((2, 0), (1, 0)), name="pad")(x))
    d = keras.layers.DepthwiseConv2D(3, padding="same", name="dw")(c)
    s = keras.layers.Add(name="add")([c, d])
    m = keras.layers.Multiply(name="mul")([s, d])
    cat = keras.layers.Concatenate(name="concat")([m, c])
    q = keras.layers.AveragePooling2D(2, padding="same", name="avg")(keras.layers.MaxPooling2D(2, name="max")(cat))
    g = keras.layers.GlobalAveragePooling2D(name="gap")(q)
    y = keras.layers.Dense(4, activation="softmax", name="scores")(g)
    return keras.Model(x, y, name="int16_ops")


@pytest.fixture(scope="session")
def int16_ops(tmp_path_factory) -> bytes:
    """The int16 op model as int16x8 TFLite with float32 input and output."""
    import numpy as np

    x = np.random.default_rng(12).normal(size=(32, 8, 8, 3))
    return int8_tflite(_int16_ops_keras(), x, tmp_path_factory.mktemp("c-ops16"), io_dtype="float32", scheme="int16x8")
