"""Malformed inputs end in a clear error or a correct result: the quick fixed-seed set.

The long property-based campaign is ``make fuzz`` (tests/fuzz_campaign.py).
"""

from __future__ import annotations

import json
import random
import re
import subprocess
from collections import Counter

import flatbuffers
import pytest

from edgekit.errors import ModelFileError
from tests.conftest import SHARED, needs_shared, run_cli
from tests.fuzzing import TFLM_MODELS, Fuzzer, mutate_bytes

pytestmark = needs_shared()
# (command, cases): 296 in all, weighted to where native code is reached, plus the hostile
# classes (code in model files, output paths, gates: tests/fuzz_hostile.py).
QUICK = {"inspect": 90, "header": 25, "export": 25, "validate": 25, "openvino": 8, "data": 25, "images": 10, "config": 25,
         "device": 15, "hostile_h5": 12, "hostile_keras": 8, "hostile_saved_model": 8, "paths": 12, "gates": 8}
SEED = 10


@pytest.fixture(scope="module")
def fuzzer(tmp_path_factory):
    return Fuzzer(tmp_path_factory.mktemp("fuzz"), timeout=60)


def test_quick_fuzz_set(fuzzer):
    assert sum(QUICK.values()) >= 200
    counts, bad = Counter(), []
    for command, n in QUICK.items():
        for i in range(n):
            outcome = fuzzer.run(command, random.Random(f"{SEED}-{command}-{i}"))
            counts[outcome.kind] += 1
            if outcome.kind not in ("ok", "error"):
                bad.append(f"{outcome.kind}: {outcome.case}: {outcome.detail}")
    print(f"quick fuzz set: {dict(counts)}")
    assert not bad, "\n".join(bad)
    assert counts["error"] > counts["ok"] > 0  # both paths were exercised


def test_cli_end_to_end_one_line_no_traceback(tmp_path):
    """The real CLI in a child process: corrupt models give exit 2 and one line."""
    base = (TFLM_MODELS / "hello_world_int8.tflite").read_bytes()
    rng = random.Random(3)
    for kind in ("truncate", "zero", "lengths"):
        bad = tmp_path / f"{kind}.tflite"
        from tests.fuzzing import _tflite_fields

        bad.write_bytes(mutate_bytes(base, kind, rng, _tflite_fields(base)))
        for args in (["inspect", bad], ["header", bad, "-o", tmp_path / f"src_{kind}"]):
            res = run_cli(*args, timeout=120)
            assert res.returncode == 2, res.stderr
            assert "Traceback" not in res.stderr + res.stdout
            lines = res.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error:") and str(bad) in lines[0], res.stderr
        assert not (tmp_path / f"src_{kind}").exists()


def _fresh_probe(monkeypatch, worker):
    import edgekit.runtime.probe as probe

    monkeypatch.setattr(probe, "WORKER", worker)
    monkeypatch.setattr(probe, "_child", None)
    monkeypatch.setattr(probe, "_proven", set())


def test_litert_crash_becomes_an_error_naming_the_file(monkeypatch):
    from edgekit.runtime.litert import LiteRTRunner

    _fresh_probe(monkeypatch, "tests.crashing_worker")
    path = TFLM_MODELS / "hello_world_int8.tflite"
    with pytest.raises(ModelFileError, match=r"LiteRT crashed \(SIGSEGV\) while loading .*hello_world_int8.tflite"):
        LiteRTRunner().load(path)


def test_probe_runs_once_per_file_and_our_converter_output_is_trusted(monkeypatch):
    import edgekit.runtime.probe as probe
    from edgekit.session import ExportSession
    from edgekit.runtime.litert import LiteRTRunner

    _fresh_probe(monkeypatch, probe.WORKER)
    path = TFLM_MODELS / "hello_world_int8.tflite"
    LiteRTRunner().load(path)
    assert len(probe._proven) == 1
    monkeypatch.setattr(probe, "WORKER", "tests.crashing_worker")
    monkeypatch.setattr(probe, "_child", None)
    LiteRTRunner().load(path)  # proven already: no second probe (the crashing worker is not asked)
    other = (TFLM_MODELS / "hello_world_float.tflite").read_bytes()
    session = ExportSession()
    session.trust(other)  # as the run's own converter does for what it wrote
    LiteRTRunner(trusted=session.trusted).load(other)
    with pytest.raises(ModelFileError, match="LiteRT crashed"):
        LiteRTRunner().load(other)  # trusted by that session only: any other load is probed


def test_tflm_crash_on_every_arena_names_the_file(monkeypatch):
    import targets.tflm.runner as tflm

    monkeypatch.setattr(tflm, "WORKER", "tests.crashing_worker")
    data = (TFLM_MODELS / "hello_world_int8.tflite").read_bytes()
    with pytest.raises(ModelFileError, match=r"TFLM crashed \(SIGSEGV\) while loading hw.tflite"):
        tflm.measure_arena(data, "hw.tflite")


@pytest.mark.parametrize("kind", ["dims", "io", "buffer", "opcode", "lengths", "truncate", "magic", "zero"])
def test_structural_damage_is_caught_before_native_code(kind):
    """Every targeted corruption of a real model is refused by TFLiteGraph itself."""
    from edgekit.tflite_graph import TFLiteGraph
    from tests.fuzzing import _tflite_fields

    base = (TFLM_MODELS / "micro_speech_quantized.tflite").read_bytes()
    fields = _tflite_fields(base)
    refused = 0
    for seed in range(20):
        try:
            TFLiteGraph(mutate_bytes(base, kind, random.Random(seed), fields), "m.tflite")
        except ModelFileError as e:
            assert str(e).startswith("m.tflite: ") and "\n" not in str(e)
            refused += 1
    assert refused >= (10 if kind in ("dims", "opcode", "io") else 18), refused  # some values stay legal


def _renamed(path, names):
    """The model with its tensors renamed (flatbuffer re-packed)."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(path.read_bytes(), 0))
    for t, name in zip(model.subgraphs[0].tensors, names * 100):
        t.name = name.encode()
    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


HOSTILE = ['evil */ int injected; /*', 'line\nbreak', 'back\\', 'tri??/', '"quoted"', 'ünï©ødé', '../../etc/passwd', '//']


def test_hostile_names_and_labels_give_valid_c_inside_the_output_dir(tmp_path):
    """Tensor names, labels and file names from a model cannot inject C or escape the output dir."""
    src = tmp_path / "in"
    src.mkdir()
    model = src / "hostile.tflite"
    model.write_bytes(_renamed(TFLM_MODELS / "hello_world_int8.tflite", HOSTILE))
    labels = tmp_path / "labels.txt"
    labels.write_text('a "b" \\n */ ??= é\n', encoding="utf-8")
    out = tmp_path / "out"
    res = run_cli("header", model, "-o", out, "--labels", labels, "--app", timeout=300)
    assert res.returncode == 0, res.stderr
    assert sorted(p.parent for p in tmp_path.rglob("*") if p.is_file() and p.parent != src and p != labels) == [out] * 6
    names = json.loads((out / "hostile_names.json").read_text())  # the stripped names, kept exactly, as JSON
    assert set(HOSTILE) <= set(names["subgraphs"][0]["tensors"]) and (out / "hostile_names.json").read_text().isascii()
    settings = out / "hostile_model_settings.h"
    text = settings.read_text()
    code = re.sub(r"//[^\n]*", "", re.sub(r"/\*.*?\*/", "", text, flags=re.S))
    assert "injected" not in code and "evil" in text  # the name is shown, inside its comment only
    assert text.isascii() and "??" not in text.replace('\\077', '')
    probe = tmp_path / "use.c"
    probe.write_text('#include "hostile_model_settings.h"\nconst char* const labels[] = HOSTILE_LABELS;\n'
                     "int count(void) { return HOSTILE_LABEL_COUNT + (int)sizeof labels; }\n")
    for lang in ("c", "c++"):
        cc = subprocess.run(["gcc", "-x", lang, "-std=" + ("c11" if lang == "c" else "c++17"), "-trigraphs", "-Wall", "-Wextra",
                             "-Werror", "-fsyntax-only", "-I", str(out), str(probe)], capture_output=True, text=True)  # fmt: skip
        assert cc.returncode == 0, cc.stderr


def test_c_comment_and_c_string_escape_everything():
    from targets.tflm.sources import c_comment, c_string

    for text in HOSTILE:
        safe = c_comment(text)
        assert safe.isascii() and safe.isprintable() and "*/" not in safe and "/*" not in safe
        assert "\\" not in safe and "?" not in safe
        lit = c_string(text)
        assert lit.isascii() and "\n" not in lit and "?" not in lit
    assert c_string('a"b\\') == 'a\\"b\\\\'


@pytest.mark.parametrize("damage", ["outside", "absolute", "no_scheme", "options", "not_a_table"])
def test_damaged_manifest_is_one_clear_error(fuzzer, tmp_path, damage):
    """validate never reads artifacts outside the build, nor trips on a manifest's types."""
    import json
    import shutil

    from tests.fuzzing import run_cli as run_in_process

    build = tmp_path / "build"
    shutil.copytree(fuzzer.build, build)
    m = json.loads((build / "manifest.json").read_text())
    entry = m["artifacts"][0]
    if damage == "outside":
        entry["files"][0]["path"] = "../../etc/passwd"
    elif damage == "absolute":
        entry["files"][0]["path"] = "/etc/passwd"
    elif damage == "no_scheme":
        del entry["scheme"]
    elif damage == "options":
        m["options"]["batch"] = "one"
    else:
        m = [m]
    (build / "manifest.json").write_text(json.dumps(m))
    code, text, exc = run_in_process(["validate", build, "--eval", fuzzer.eval, "--model", fuzzer.source])
    assert code == 2 and exc is None, text
    assert "damaged manifest" in text and text.count("\n") == 1
    assert not (build / "validation.json").exists()


def test_broken_png_chunk_is_a_data_error(tmp_path):
    """Pillow raises SyntaxError on a PNG with a garbage chunk type: still one DataError."""
    import numpy as np
    from PIL import Image

    from edgekit.data import Dataset
    from edgekit.errors import DataError
    from edgekit.model import TensorInfo

    path = tmp_path / "img" / "a.png"
    path.parent.mkdir()
    Image.fromarray((np.random.default_rng(0).random((40, 30)) * 255).astype(np.uint8)).save(path)
    raw = bytearray(path.read_bytes())
    length = int.from_bytes(raw[33:37], "big")  # the image data chunk, right after IHDR
    raw[33:37] = (length // 2).to_bytes(4, "big")  # the "next chunk" is now inside the data
    path.write_bytes(bytes(raw))
    ds = Dataset.open(path.parent, [TensorInfo("x", (1, 8, 8, 1), "float32")], option="--eval")
    with pytest.raises(DataError, match="a.png: not a readable image"):
        list(ds.batches())


@pytest.mark.parametrize("damage", ["method", "deflate"])
def test_npz_with_damaged_compression_is_a_data_error(tmp_path, damage):
    """An unknown compression method (NotImplementedError) or a corrupt deflate stream."""
    import numpy as np

    from edgekit.data import Dataset
    from edgekit.errors import DataError
    from edgekit.model import TensorInfo

    path = tmp_path / "d.npz"
    np.savez_compressed(path, x=np.random.default_rng(0).random((64, 1), np.float32))
    raw = bytearray(path.read_bytes())
    if damage == "method":  # the local and central headers both name method 99
        for sig in (b"PK\x03\x04", b"PK\x01\x02"):
            at = raw.index(sig)
            off = 8 if sig == b"PK\x03\x04" else 10
            raw[at + off : at + off + 2] = (99).to_bytes(2, "little")
    else:
        at = raw.index(b"PK\x03\x04") + 30 + len("x.npy") + 60
        raw[at : at + 40] = bytes(40)
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="d.npz"):
        ds = Dataset.open(path, [TensorInfo("x", (1, 1), "float32")], option="--eval")
        list(ds.batches())
