"""The c runner: the generated C compiled for the host and called through ctypes, bit-exact
with the TFLM interpreter; C files that edgekit did not generate are refused."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.errors import ModelFileError
from edgekit.tflite_graph import TFLiteGraph
from targets.c.exporter import write_c
from targets.c.generate import generate
from targets.c.runner import CRunner
from targets.tflm.runner import TFLMRunner
from tests.conftest import MLPERF, SHARED, needs_shared
from tests.targets.c.conftest import needs_compiler

pytestmark = needs_compiler()


def int8_differences(data: bytes, xs: list[np.ndarray]) -> int:
    """Output values (int8) where the compiled C and the TFLM interpreter differ."""
    from edgekit.runtime.io import from_runtime, to_runtime

    graph = TFLiteGraph(data, "model")
    c = CRunner()
    c.load_generated(generate(data, name="m", model_name="model"), graph)
    tflm = TFLMRunner()
    try:
        tflm.load_bytes(data)
        ours = c.run_raw(xs)
        theirs = tflm.run([from_runtime(x, t) for x, t in zip(xs, tflm.inputs)])
        return sum(int((to_runtime(t, info).reshape(o.shape) != o).sum()) for o, t, info in zip(ours, theirs, tflm.outputs))
    finally:
        tflm.close()
        c.close()


def _random_inputs(data: bytes, n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(-128, 128, (n, *t.shape[1:]), dtype=np.int8) for t in TFLiteGraph(data).inputs]


def test_tiny_model_is_bit_exact_with_tflm(tiny_int8, tiny_data):
    from edgekit.runtime.io import to_runtime

    x = np.load(tiny_data)["x"]
    info = TFLiteGraph(tiny_int8).inputs[0].info()
    assert int8_differences(tiny_int8, [to_runtime(x, info)]) == 0


def test_load_compiles_the_artifact_and_refuses_edited_c(tiny_int8, tiny_data, tmp_path):
    art = write_c(tiny_int8, tmp_path / "c", name="tiny", model_name="tiny.keras")
    r = CRunner()
    r.load(art)
    y = r.run([np.load(tiny_data)["x"][:5]])[0]
    assert y.shape == (5, 3) and np.allclose(y.sum(axis=1), 1.0, atol=0.05)
    r.smoke_test()
    r.close()
    c = art.directory / "tiny.c"
    c.write_text(c.read_text().replace("return 0;", "return 1;"))
    with pytest.raises(ModelFileError, match="differs from the C edgekit generates"):
        CRunner().load(art)


@needs_shared()
@pytest.mark.parametrize("model", ["simple_add_model", "micro_speech_quantized"])
def test_small_tflm_models_are_bit_exact(model):
    data = (SHARED / "tflm" / f"{model}.tflite").read_bytes()
    assert int8_differences(data, _random_inputs(data, 20)) == 0
