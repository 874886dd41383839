"""PyTorch sources: .pt2 programs, nn.Modules with example inputs, pickled files refused."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from edgekit.errors import MissingExtraError, OptionError, UnsafeModelError
from edgekit.loaders.torch import EXTRA_HINT, import_torch
from edgekit.model import load_model
from tests.conftest import ROOT, run_cli
from tests.torch_models import save_pt2, tiny_cnn, tiny_gap

torch = import_torch()


@pytest.fixture(scope="module")
def pt2(tmp_path_factory):
    return save_pt2(tiny_cnn(), tmp_path_factory.mktemp("pt2") / "tiny.pt2")


def _x(shape, seed=0):
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def test_pt2_loads_with_signature_layout_and_pytorch_reference(pt2):
    model = load_model(pt2)
    assert model.kind == "torch" and model.name == "tiny"
    (inp,), (out,) = model.inputs, model.outputs
    assert (inp.shape, inp.dtype, inp.layout) == ((1, 3, 8, 8), "float32", "NCHW")
    assert (out.shape, out.layout) == ((1, 4), None)
    x = _x((1, 3, 8, 8))
    with torch.inference_mode():
        want = tiny_cnn()(torch.from_numpy(x)).numpy()
    np.testing.assert_array_equal(model.predict(x)[0], want)


def test_reference_runs_any_batch_in_chunks_of_the_fixed_batch(pt2):
    model = load_model(pt2)
    x = _x((5, 3, 8, 8), seed=1)
    got = model.predict(x)[0]
    assert got.shape == (5, 4)
    for i in range(5):
        np.testing.assert_allclose(got[i], model.predict(x[i : i + 1])[0][0], rtol=0, atol=1e-6)


def test_dynamic_batch_is_fixed_by_batch(tmp_path):
    path = save_pt2(tiny_cnn(), tmp_path / "dyn.pt2", dynamic_batch=True)
    assert load_model(path).inputs[0].shape == (1, 3, 8, 8)
    model = load_model(path, batch=3)
    assert model.inputs[0].shape == (3, 3, 8, 8) and model.outputs[0].shape == (3, 4)
    assert model.exported_program().graph_signature.user_inputs  # a static re-export


def test_dynamic_spatial_dims_need_input_shape(tmp_path):
    path = save_pt2(tiny_gap(), tmp_path / "hw.pt2", shape=(1, 3, 16, 16), dynamic_hw=True)
    with pytest.raises(OptionError, match=r"unknown dimensions; fix them with --input-shape"):
        load_model(path)
    model = load_model(path, input_shapes={None: (1, 3, 24, 32)})
    assert model.inputs[0].shape == (1, 3, 24, 32)
    with pytest.raises(OptionError, match="does not accept input shape"):
        load_model(path, input_shapes={None: (1, 3, 4, 4)})  # below the exported min of 8


def test_unresolvable_dynamic_shape_is_one_line_exit_2(tmp_path):
    path = save_pt2(tiny_gap(), tmp_path / "hw.pt2", shape=(1, 3, 16, 16), dynamic_hw=True)
    out = tmp_path / "build"
    r = run_cli("export", path, "-t", "tflite", "--quant", "float32", "--out", out)
    assert r.returncode == 2, r.stderr
    assert "--input-shape" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_module_with_example_inputs_keeps_the_modules_mode():
    module = tiny_cnn()
    module.train()
    model = load_model(module, example_inputs=torch.zeros(1, 3, 8, 8))
    assert module.training  # restored
    assert model.kind == "torch" and model.name == "Sequential" and model.inputs[0].shape == (1, 3, 8, 8)
    x = _x((1, 3, 8, 8), seed=2)
    with torch.inference_mode():
        want = module.eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.predict(x)[0], want, rtol=0, atol=1e-7)
    with pytest.raises(OptionError, match="example_inputs"):
        load_model(module)


def test_pickled_module_is_refused_without_unsafe(tmp_path):
    path = tmp_path / "model.pt"
    torch.save(tiny_cnn(), path)
    with pytest.raises(UnsafeModelError, match=r"runs code when it loads.*torch\.export\.save"):
        load_model(path)
    model = load_model(path, unsafe=True, input_shapes={None: (1, 3, 8, 8)})
    assert model.outputs[0].shape == (1, 4)


def test_pickled_module_cli_is_one_line_exit_2(tmp_path):
    path = tmp_path / "model.pth"
    torch.save(tiny_cnn(), path)
    out = tmp_path / "build"
    r = run_cli("export", path, "-t", "tflite", "--quant", "float32", "--out", out)
    assert r.returncode == 2
    (line,) = r.stderr.strip().splitlines()
    assert "torch.export.save(torch.export.export(" in line and "--unsafe" in line
    assert not out.exists()


def test_missing_extra_is_one_line_naming_it(tmp_path, pt2):
    """torch made unimportable in a child process: the CLI names the extra, exit 2."""
    script = textwrap.dedent(f"""
        import sys
        sys.modules["torch"] = None  # import torch -> ImportError, as without the extra
        sys.argv = ["edgekit", "export", {str(pt2)!r}, "-t", "tflite", "--quant", "float32",
                    "--out", {str(tmp_path / "b")!r}]
        from edgekit.cli import main
        main()
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == f"error: {EXTRA_HINT}"
    assert not (tmp_path / "b").exists()


def test_import_torch_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'edgekit\[torch\]'"):
        import_torch()


def test_not_a_pt2_archive(tmp_path):
    path = tmp_path / "x.pt2"
    path.write_bytes(b"not a zip")
    with pytest.raises(Exception, match="not a PT2 archive"):
        load_model(path)
