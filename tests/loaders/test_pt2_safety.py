"""Hostile .pt2 archives: every place torch.export.load (or the module it makes) would run
code from the file is refused before torch reads it, and nothing from the file runs."""

from __future__ import annotations

import json
import pickle
import zipfile

import pytest

from edgekit.errors import ModelFileError, UnsafeModelError
from edgekit.loaders.pt2_safety import check_pt2_archive, safe_expression
from edgekit.loaders.torch import import_torch
from edgekit.model import load_model
from tests.torch_models import save_pt2, tiny_cnn

torch = import_torch()


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return save_pt2(tiny_cnn(), tmp_path_factory.mktemp("safe") / "m.pt2")


def _rewrite(src, dst, edit_json=None, replace=None, add=None):
    """A copy of archive ``src`` with its model JSON edited, members replaced or added."""
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w") as out:
        prefix = next(n for n in z.namelist() if n.endswith("archive_format"))[: -len("archive_format")]
        for name in z.namelist():
            data = z.read(name)
            rel = name[len(prefix):]
            if rel == "models/model.json" and edit_json:
                doc = json.loads(data)
                edit_json(doc)
                data = json.dumps(doc).encode()
            if replace and rel in replace:
                data = replace[rel]
            out.writestr(name, data)
        for rel, data in (add or {}).items():
            out.writestr(prefix + rel, data)
    return dst


class _Marker:
    """A pickle that creates a file when unpickled (code execution)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _nodes(doc):
    return doc["graph_module"]["graph"]["nodes"]


def test_a_real_export_passes(good):
    check_pt2_archive(good, unsafe=False)


@pytest.mark.parametrize("edit, why", [
    (lambda d: _nodes(d)[0].update(target="torch.os.system"), "not a torch operator"),
    (lambda d: _nodes(d)[0].update(target="torch.ops.aten.__class__.__init__"), "not a torch operator"),
    (lambda d: d.update(guards_code=["__import__('os').system('x')"]), "guard code"),
    (lambda d: _nodes(d)[0].update(name="x; import os"), "names a graph value"),
    (lambda d: _nodes(d)[0]["metadata"].update(stack_trace='File "a", line 1, in f\r\nimport os'), "control characters"),
    (lambda d: d["graph_module"]["graph"]["sym_int_values"].update(
        s0={"as_expr": {"expr_str": "eval('1')", "hint": None}}), "shape expression"),
])  # fmt: skip
def test_code_in_the_graph_json_is_refused(good, tmp_path, edit, why):
    bad = _rewrite(good, tmp_path / "bad.pt2", edit_json=edit)
    with pytest.raises(UnsafeModelError, match=why):
        load_model(bad)
    check_pt2_archive(bad, unsafe=True)  # --unsafe: the user vouches for the file


def test_pickled_weight_is_unpickled_by_nobody(good, tmp_path):
    marker = tmp_path / "ran"
    config = {"config": {"0.weight": {"path_name": "weight_0", "is_param": True, "use_pickle": True,
                                      "tensor_meta": None}}}  # fmt: skip
    bad = _rewrite(good, tmp_path / "bad.pt2", replace={
        "data/weights/model_weights_config.json": json.dumps(config).encode(),
        "data/weights/weight_0": pickle.dumps(_Marker(marker)),
    })  # fmt: skip
    with pytest.raises(UnsafeModelError, match="more than tensors"):
        load_model(bad)
    assert not marker.exists()


def test_pickled_sample_inputs_are_refused(good, tmp_path):
    marker = tmp_path / "ran"
    bad = _rewrite(good, tmp_path / "bad.pt2", replace={"data/sample_inputs/model.pt": pickle.dumps(_Marker(marker))})
    with pytest.raises(UnsafeModelError, match="sample_inputs"):
        load_model(bad)
    assert not marker.exists()


def test_object_constants_and_compiled_code_are_refused(good, tmp_path):
    config = {"config": {"obj": {"path_name": "custom_obj_0", "is_param": False, "use_pickle": False}}}
    bad = _rewrite(good, tmp_path / "obj.pt2", replace={"data/constants/model_constants_config.json":
                                                        json.dumps(config).encode()})  # fmt: skip
    with pytest.raises(UnsafeModelError, match="Python object constant"):
        load_model(bad)
    aoti = _rewrite(good, tmp_path / "aoti.pt2", add={"data/aotinductor/model/model.so": b"\x7fELF"})
    with pytest.raises(UnsafeModelError, match="AOTInductor"):
        load_model(aoti)


def test_not_an_export_archive(tmp_path):
    z = tmp_path / "z.pt2"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("m/other.txt", "x")
    with pytest.raises(ModelFileError, match="not a torch.export archive"):
        load_model(z)
    legacy = tmp_path / "legacy.pt2"
    with zipfile.ZipFile(legacy, "w") as f:
        f.writestr("serialized_exported_program.json", "{}")
        f.writestr("version", "5.0")
    with pytest.raises(ModelFileError, match="pre-2.7 format"):
        load_model(legacy)
    tensor_file = tmp_path / "t.pt2"
    torch.save(torch.zeros(2), tensor_file)  # a zip too, but torch.save's
    with pytest.raises(ModelFileError, match="torch.export"):
        load_model(tensor_file)


@pytest.mark.parametrize("text, ok", [
    ("s31 + 1", True), ("Symbol('s31', positive=True, integer=True)", True), ("FloorDiv(s0, 2)", True),
    ("Max(1, 2.5*s1)", True), ("eval('1')", False), ("getattr(Symbol('x'), 'y')", False),
    ("Symbol('x').func", False), ("chr(95)+chr(95)", False), ("'a'+'b'", True), ("s0[0]", False),
])  # fmt: skip
def test_shape_expressions(text, ok):
    assert safe_expression(text) is ok
