import numpy as np

from edgekit.data import Dataset
from edgekit.model import load_model
from edgekit.runtime.litert import LiteRTRunner
from quantize.spec import QuantSpec
from targets.tflite.exporter import TFLiteTarget
from tests.conftest import MLPERF, needs_shared


def _runner(path, **kw):
    r = LiteRTRunner(**kw)
    r.load(path)
    return r


def test_batched_equals_per_sample(tiny_keras, tiny_data, tmp_path):
    m = load_model(tiny_keras)
    data = Dataset.open(tiny_data, m.inputs)
    art = TFLiteTarget().export(m, QuantSpec("int8"), tmp_path, data)
    x = next(data.batches(13)).inputs
    r = _runner(art.primary)
    batched = r.run(x)[0]
    single = np.concatenate([r.run([x[0][i : i + 1]])[0] for i in range(13)])
    assert batched.shape == (13, 3)
    assert np.array_equal(batched, single)


@needs_shared()
def test_fixed_reshape_falls_back_to_per_sample():
    # The reference ResNet reshapes to [1, 64]: resizing the batch fails, runs go one by one.
    r = _runner(MLPERF / "image_classification" / "pretrainedResnet_quant.tflite")
    x = np.random.default_rng(0).uniform(0, 255, (5, 32, 32, 3)).astype(np.float32)
    out = r.run([x])[0]
    assert out.shape == (5, 10)
    assert np.allclose(out[2], r.run([x[2:3]])[0][0])


@needs_shared()
def test_raw_integer_input_passes_through():
    r = _runner(MLPERF / "keyword_spotting" / "kws_ref_model.tflite")
    raw = np.load(MLPERF / "keyword_spotting" / "kws_sample_input_int8.npy")
    assert raw.dtype == np.int8
    as_float = (raw.astype(np.float32) - 83) * 0.5847029089927673
    assert np.allclose(r.run([raw])[0], r.run([as_float])[0])


def test_kernel_choices(tiny_keras, tmp_path):
    m = load_model(tiny_keras)
    art = TFLiteTarget().export(m, QuantSpec("float32"), tmp_path)
    x = [np.ones((2, 6, 6, 1), np.float32)]
    a = _runner(art.primary).run(x)[0]
    for kernels in ("builtin", "reference"):
        b = _runner(art.primary, kernels=kernels).run(x)[0]
        assert np.allclose(a, b, atol=1e-6)


@needs_shared()
def test_litert_paths_work_without_tensorflow():
    """A device-class box has LiteRT but no TensorFlow: inspect and run must still work."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "for name in ('tensorflow', 'keras', 'tf_keras'): sys.modules[name] = None\n"
        "import numpy as np\n"
        "from edgekit.cli import main\n"
        "from edgekit.model import load_model\n"
        "from edgekit.runtime.litert import LiteRTRunner\n"
        f"m = load_model({str(MLPERF / 'keyword_spotting' / 'kws_ref_model.tflite')!r})\n"
        "print(m.predict(np.zeros((2, 49, 10, 1), np.float32))[0].shape)\n"
        "sys.argv = ['edgekit', 'inspect', '--json', m.path.as_posix()]\n"
        "main()\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("(2, 12)") and '"macs": 2656768' in res.stdout
