"""Malformed inputs for edgekit's commands, one Fuzzer method per command.

Shared by the quick fixed-seed set in ``tests/test_fuzz.py`` (part of ``make test``) and the
long property-based campaign of ``make fuzz`` (``tests/fuzz_campaign.py``).

A case is (command, mutated input). It runs in this process through the click command
(``CliRunner``), with fd 1/2 sent to a file so the printed lines can be judged, under a
per-case alarm. Native interpreters run in child processes (edgekit's crash isolation), so
a segfault there must come back as an error line. How a case is run and judged, and the
outcomes: ``tests/fuzz_judge.py``; the hostile classes: ``tests/fuzz_hostile.py``.
"""

from __future__ import annotations

import random
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np

from tests.conftest import EXAMPLE, SHARED
from tests.fuzz_hostile import HostileCases
# Re-exported: the quick set and the campaign run and judge cases through these.
from tests.fuzz_judge import OUTCOMES, Outcome, judge, run_cli, stray, validated  # noqa: F401

TFLM_MODELS = SHARED / "tflm"
# Small real models: mutations hit their structure rather than weight bytes.
TFLITE_BASES = [
    TFLM_MODELS / "hello_world_int8.tflite",
    TFLM_MODELS / "hello_world_float.tflite",
    TFLM_MODELS / "simple_add_model.tflite",
    TFLM_MODELS / "seanet_conv0.tflite",
    TFLM_MODELS / "micro_speech_quantized.tflite",
    TFLM_MODELS / "trained_lstm_int8.tflite",
    TFLM_MODELS / "keyword_scrambled_8bit.tflite",
    SHARED / "mlperf_tiny" / "keyword_spotting" / "kws_ref_model.tflite",
]

# -- byte mutations ----------------------------------------------------------------------------
def _tflite_fields(data: bytes) -> dict[str, list[int]]:
    """Byte positions of fields worth corrupting: shape dims, op tensor indices, buffer
    indices, opcode indices, and the length word of every vector found."""
    from ai_edge_litert import schema_py_generated as schema

    out: dict[str, list[int]] = {"dims": [], "io": [], "buffer": [], "opcode": [], "lengths": []}
    model = schema.Model.GetRootAs(data, 0)

    def vec(tab, slot, key):
        o = tab.Offset(slot)
        if o:
            start = tab.Vector(o)
            out["lengths"].append(start - 4)
            n = tab.VectorLen(o)
            out[key].extend(start + 4 * k for k in range(n)) if key else None

    for s in range(model.SubgraphsLength()):
        sg = model.Subgraphs(s)
        vec(sg._tab, 4, None)
        vec(sg._tab, 6, "io")
        vec(sg._tab, 8, "io")
        for t in range(sg.TensorsLength()):
            tab = sg.Tensors(t)._tab
            vec(tab, 4, "dims")
            o = tab.Offset(8)
            if o:
                out["buffer"].append(tab.Pos + o)
        for i in range(sg.OperatorsLength()):
            tab = sg.Operators(i)._tab
            o = tab.Offset(4)
            if o:
                out["opcode"].append(tab.Pos + o)
            vec(tab, 6, "io")
            vec(tab, 8, "io")
    vec(model._tab, 6, None)  # operator codes
    vec(model._tab, 8, None)  # subgraphs
    vec(model._tab, 12, None)  # buffers
    return out


_HUGE = [0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0x10000000, 0xFFFF, 1 << 20]


def mutate_bytes(data: bytes, kind: str, rng: random.Random, fields: dict | None = None) -> bytes:
    """``data`` corrupted one way: see KINDS."""
    d = bytearray(data)
    n = len(d)
    if kind == "bitflip":
        for _ in range(rng.randint(1, 8)):
            p = rng.randrange(n)
            d[p] ^= 1 << rng.randrange(8)
    elif kind == "bytes":
        for _ in range(rng.randint(1, 16)):
            d[rng.randrange(n)] = rng.randrange(256)
    elif kind == "truncate":
        d = d[: rng.randrange(n)]
    elif kind == "zero":
        d = bytearray()
    elif kind == "magic":
        d[4:8] = rng.choice([b"TFL2", b"\0\0\0\0", b"PK\3\4", b"tfl3"])
    elif kind == "extend":
        d += bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    elif kind == "shuffle":  # swap two aligned blocks: tables and vectors end up in each other's place
        size = rng.choice([4, 8, 16, 32, 64])
        if n >= 2 * size:
            a, b = sorted(rng.sample(range(0, n - size, 4), 2))
            if b - a >= size:
                d[a : a + size], d[b : b + size] = d[b : b + size], d[a : a + size]
    elif kind == "words":  # a random aligned word set to a huge or negative value
        for _ in range(rng.randint(1, 3)):
            p = rng.randrange(0, max(n - 4, 1), 4)
            d[p : p + 4] = struct.pack("<I", rng.choice(_HUGE))
    elif kind in ("dims", "io", "buffer", "opcode", "lengths") and fields and fields.get(kind):
        p = rng.choice(fields[kind])
        value = {"dims": [0x7FFFFFFF, 0xFFFFFFFF, 1 << 16, 1 << 30, 0], "io": [0xFFFFFFFF, 9999, 0x7FFFFFFF, 0xFFFFFFFE],
                 "buffer": [0xFFFFFFFF, 9999, 1], "opcode": [9999, 0xFFFFFFFF, 1],
                 "lengths": _HUGE}[kind]  # fmt: skip
        d[p : p + 4] = struct.pack("<I", rng.choice(value))
    else:
        return mutate_bytes(data, "bitflip", rng)
    return bytes(d)


BYTE_KINDS = ("bitflip", "bytes", "truncate", "zero", "magic", "extend", "shuffle", "words")
TFLITE_KINDS = BYTE_KINDS + ("dims", "io", "buffer", "opcode", "lengths")


def mutated_tflite(rng: random.Random, kind: str | None = None) -> tuple[bytes, str]:
    base = rng.choice([p for p in TFLITE_BASES if p.exists()])
    kind = kind or rng.choice(TFLITE_KINDS)
    data = base.read_bytes()
    fields = _tflite_fields(data) if kind in TFLITE_KINDS[len(BYTE_KINDS):] else None
    return mutate_bytes(data, kind, rng, fields), f"{base.name}:{kind}"


# -- data, configs, device profiles ---------------------------------------------------------------
def _npy_bytes(arr) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def bad_npy(rng: random.Random) -> tuple[bytes, str]:
    """A .npy for a (1,)-input model: corrupted, oddly shaped, odd dtypes, lying headers."""
    kind = rng.choice(["bytes", "header", "object", "shape", "nan", "dtype", "fortran", "scalar", "empty", "huge"])
    x = np.linspace(0, 6, 16, dtype=np.float32).reshape(-1, 1)
    if kind == "bytes":
        return mutate_bytes(_npy_bytes(x), rng.choice(BYTE_KINDS), rng), "npy:bytes"
    if kind == "header":
        raw = bytearray(_npy_bytes(x))
        end = raw.index(b"}")
        header = raw[10:end].decode().replace("(16, 1)", rng.choice(["(99999999999, 1)", "(-3, 1)", "(16,", "'x'"]))
        return bytes(raw[:10]) + header.encode() + bytes(raw[end:]), "npy:header"
    arr = {
        "object": np.array([{"a": 1}, None], dtype=object),
        "shape": np.zeros((4, 3, 2), np.float32),
        "nan": np.full((4, 1), np.nan, np.float32),
        "dtype": np.array(["a", "b"]),
        "fortran": np.asfortranarray(np.zeros((4, 1), np.float32)),
        "scalar": np.float32(1.0),
        "empty": np.zeros((0, 1), np.float32),
        "huge": np.full((4, 1), 1e38, np.float32),
    }[kind]
    return _npy_bytes(np.asarray(arr)), f"npy:{kind}"


def bad_npz(rng: random.Random, path: Path) -> str:
    """Write a malformed .npz for a single-input (N, 1) model at ``path``."""
    import io

    kind = rng.choice(["bytes", "keys", "labels", "member", "notzip", "mismatch"])
    x = np.linspace(0, 6, 16, dtype=np.float32).reshape(-1, 1)
    if kind == "bytes":
        buf = io.BytesIO()
        np.savez(buf, x=x, y=np.sin(x))
        path.write_bytes(mutate_bytes(buf.getvalue(), rng.choice(BYTE_KINDS), rng))
    elif kind == "keys":
        np.savez(path, inputs=x, more=x)
    elif kind == "labels":
        np.savez(path, x=x, y=np.zeros(3))
    elif kind == "member":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("x.npy", bad_npy(rng)[0])
    elif kind == "notzip":
        path.write_bytes(b"not a zip at all" * rng.randint(0, 5))
    else:
        np.savez(path, x=x, y=np.zeros((16, 7)))
    return f"npz:{kind}"


def bad_images(rng: random.Random, folder: Path) -> str:
    """A directory of images for a 96x96x1 model, some of them corrupt."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    kind = rng.choice(["bytes", "truncate", "zero", "renamed", "mode", "tiny"])
    img = Image.fromarray((np.random.default_rng(rng.randrange(1000)).random((40, 30)) * 255).astype(np.uint8))
    buf = folder / "a" / "good.png"
    buf.parent.mkdir(exist_ok=True)
    img.save(buf)
    raw = buf.read_bytes()
    bad = folder / "b" / "bad.png"
    bad.parent.mkdir(exist_ok=True)
    if kind == "bytes":
        bad.write_bytes(mutate_bytes(raw, "bytes", rng))
    elif kind == "truncate":
        bad.write_bytes(raw[: rng.randrange(1, len(raw))])
    elif kind == "zero":
        bad.write_bytes(b"")
    elif kind == "renamed":
        bad.write_bytes(b"%PDF-1.4 not an image")
    elif kind == "mode":
        Image.new("CMYK", (5, 5)).save(bad.with_suffix(".tif"))
    else:
        Image.new("L", (1, 1)).save(bad)
    return f"images:{kind}"


_TOML_VALUES = ['"x"', "3", "-1", "0", "1e400", "nan", "true", "[1, 2]", '["a", 3]', "{a = 1}", '""',
                '"../../../../etc/passwd"', "1979-05-27T07:32:00Z", '"int8\\u0000"', "[]", "99999999999999999999"]  # fmt: skip


def bad_config(rng: random.Random, model: Path, out: Path) -> tuple[str, str]:
    """TOML text for ``--config``: wrong types, unknown keys, broken syntax."""
    from edgekit.config import export_keys

    kind = rng.choice(["type", "unknown", "syntax", "preprocess", "bytes", "unsafe"])
    lines = ["[export]", f'model = "{model}"', f'out = "{out}"', 'target = "tflite"', "latency = false"]
    if kind == "type":
        key = rng.choice(sorted(export_keys()))
        lines = [ln for ln in lines if not ln.startswith(key + " ")] + [f"{key} = {rng.choice(_TOML_VALUES)}"]
    elif kind == "unknown":
        lines.append(f"{rng.choice(['colour', 'quant_mode', 'Target', 'calib-sizes', 'x.y'])} = {rng.choice(_TOML_VALUES)}")
    elif kind == "syntax":
        lines.append(rng.choice(["model = ", "[export", 'a = "unterminated', "= 3", "[[export]]", "key = 1 2"]))
    elif kind == "preprocess":
        lines.append(f"[export.preprocess]\n{rng.choice(['scale', 'mean', 'std', 'gamma'])} = {rng.choice(_TOML_VALUES)}")
    elif kind == "unsafe":
        lines.append("unsafe = true")
    text = "\n".join(lines) + "\n"
    if kind == "bytes":
        text = mutate_bytes(text.encode(), rng.choice(["bitflip", "bytes", "truncate"]), rng).decode("latin-1")
    return text, f"config:{kind}"


_DEVICE = {"name": '"board"', "board": '"b"', "core": '"Cortex-M4"', "clock_mhz": "120", "sram_kb": "256",
           "flash_kb": "1024", "features": '["dsp"]', "kernels": '"cmsis-nn"'}  # fmt: skip


def bad_device(rng: random.Random) -> tuple[str, str]:
    """A device profile with nonsense values, missing or unknown keys."""
    kind = rng.choice(["value", "missing", "unknown", "syntax"])
    d = dict(_DEVICE)
    if kind == "value":
        d[rng.choice(sorted(d))] = rng.choice(_TOML_VALUES + ['"../x"', "1e9", "-5", '["warp"]', "inf"])
    elif kind == "missing":
        d.pop(rng.choice(sorted(d)))
    elif kind == "unknown":
        d["voltage"] = "3.3"
    text = "\n".join(f"{k} = {v}" for k, v in d.items()) + "\n"
    if kind == "syntax":
        text = text.replace("=", rng.choice([":", "==", ""]), 1)
    return text, f"device:{kind}"



def mutate_ir_xml(text: str, rng: random.Random) -> str:
    """An OpenVINO IR .xml with a lying dimension, constant offset/size, type, or a layer gone."""
    import re

    kind = rng.choice(["dim", "offset", "size", "type", "drop", "edge"])
    if kind == "drop":
        layers = list(re.finditer(r"<layer .*?</layer>", text, re.S))
        m = rng.choice(layers)
        return text[: m.start()] + text[m.end() :]
    pattern = {"dim": r"<dim>(\d+)</dim>", "offset": r'offset="(\d+)"', "size": r'size="(\d+)"',
               "type": r'element_type="(\w+)"', "edge": r'from-layer="(\d+)"'}[kind]  # fmt: skip
    hits = list(re.finditer(pattern, text))
    if not hits:
        return text[: rng.randrange(len(text))]
    m = rng.choice(hits)
    value = {"dim": ["0", "4294967295", "99999999999", "-1"], "offset": ["999999999", "18446744073709551615", "1"],
             "size": ["999999999", "0", "7"], "type": ["f64", "u1", "string", "i4", "nonsense"],
             "edge": ["99999", "0", "-3"]}[kind]  # fmt: skip
    return text[: m.start(1)] + rng.choice(value) + text[m.end(1) :]


class Fuzzer(HostileCases):
    """Builds the fixtures once (a small build to validate, eval data), then runs cases."""

    COMMANDS = ("inspect", "header", "export", "validate", "openvino", "data", "images", "config", "device",
                "hostile_h5", "hostile_keras", "hostile_saved_model", "paths", "gates")

    # Built on first use inside a case: not something the case wrote.
    FIXTURES = {"ov_build", "digits_build", "hostile_base.h5", "hostile_base.keras", "hostile_saved_models"}

    def __init__(self, workdir: Path, timeout: int = 120):
        self.work = Path(workdir)
        self.timeout = timeout
        self.work.mkdir(parents=True, exist_ok=True)
        x = np.linspace(0, 6.28, 32, dtype=np.float32).reshape(-1, 1)
        self.eval = self.work / "hw_eval.npz"
        np.savez(self.eval, x=x, y=np.sin(x))
        self.source = TFLM_MODELS / "hello_world_int8.tflite"
        self.build = self.work / "build"
        code, text, exc = run_cli(["export", self.source, "-t", "tflite,tflm", "-q", "int8", "--calib", self.eval,
                                   "-o", self.build, "--force", "--no-latency"], timeout=300)  # fmt: skip
        if code != 0:
            raise RuntimeError(f"could not build the validate fixture: {text} {exc!r}")
        self._ov_build: Path | None = None  # built on first use (a TensorFlow conversion)
        self.person = SHARED / "mlperf_tiny" / "visual_wake_words" / "vww_96_int8.tflite"
        self.n = 0
        self.canary = self.work / "canary" / "pwned"  # every hostile payload aims here
        self.canary.parent.mkdir(exist_ok=True)
        self._hostile: dict = {}  # base files of the hostile classes, built on first use
        self._digits: tuple | None = None  # (build, top-1) for the gates class

    def _case_dir(self) -> Path:
        self.n += 1
        d = self.work / f"case{self.n}"
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
        return d

    def run(self, command: str, rng: random.Random) -> Outcome:
        d = self._case_dir()
        before = sorted(p.name for p in self.work.iterdir())
        try:
            outcome = getattr(self, f"_{command}")(d, rng)
        finally:
            ran = self.canary.exists() or self.canary.with_name("logs").exists()
            for p in (self.canary, self.canary.with_name("logs")):
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
            shutil.rmtree(d, ignore_errors=True)
        if ran:
            return Outcome("code", outcome.case, f"the payload ran (exit was {outcome.kind}: {outcome.detail[:200]})")
        new = sorted(set(p.name for p in self.work.iterdir()) - set(before) - {d.name} - self.FIXTURES)
        if new:
            return Outcome("harm", outcome.case, f"written outside the case: {new[:5]}")
        return outcome

    # one method per command --------------------------------------------------------------------
    def _model(self, d: Path, rng: random.Random) -> tuple[Path, str]:
        data, case = mutated_tflite(rng)
        path = d / "model.tflite"
        path.write_bytes(data)
        return path, case

    def _inspect(self, d, rng):
        if rng.random() < 0.05 and (EXAMPLE / "digits.keras").exists():  # the example, as a corrupt zip
            path = d / "digits.keras"
            path.write_bytes(mutate_bytes((EXAMPLE / "digits.keras").read_bytes(), rng.choice(["truncate", "zero", "magic", "bytes"]), rng))
            case = "digits.keras"
        else:
            path, case = self._model(d, rng)
        code, text, exc = run_cli(["inspect", path, "--json", "--ops"], self.timeout)
        return judge(f"inspect {case}", code, text, exc, stray(d))

    def _header(self, d, rng):
        path, case = self._model(d, rng)
        out = d / "src"
        code, text, exc = run_cli(["header", path, "-o", out, "--name", "m"], self.timeout)
        left = stray(d)
        files = sorted(p.name for p in out.glob("*")) if out.exists() else []
        sources = {"m_model_data.c", "m_model_data.h", "m_model_settings.h", "m_op_resolver.h"}  # + m_names.json if stripped
        if code == 0 and not sources <= set(files) <= sources | {"m_names.json"} or code not in (0, None) and files:
            left.append(f"{out} holds {files}")
        return judge(f"header {case}", code, text, exc, left)

    def _export(self, d, rng):
        path, case = self._model(d, rng)
        out = d / "build"
        code, text, exc = run_cli(["export", path, "-t", rng.choice(["tflite", "tflm", "tflite,tflm"]), "-q", "int8",
                                   "--calib", self.eval, "-o", out, "--no-latency"], self.timeout)  # fmt: skip
        left = stray(d)
        if code not in (0, 1, None) and out.exists():
            left.append(f"{out} exists after a failed export")
        if code in (0, 1) and not (out / "manifest.json").exists():
            left.append(f"{out} has no manifest")
        return judge(f"export {case}", code, text, exc, left)

    def _validate(self, d, rng):
        build = d / "build"
        shutil.copytree(self.build, build)
        victim = rng.choice([*build.rglob("*.tflite"), *build.rglob("*_model_data.c"), build / "manifest.json"])
        kinds = TFLITE_KINDS if victim.suffix == ".tflite" else BYTE_KINDS
        kind = rng.choice(kinds)
        data = victim.read_bytes()
        fields = _tflite_fields(data) if kind in TFLITE_KINDS[len(BYTE_KINDS):] else None
        victim.write_bytes(mutate_bytes(data, kind, rng, fields))
        code, text, exc = run_cli(["validate", build, "--eval", self.eval, "--model", self.source], self.timeout)
        return judge(f"validate {victim.name}:{kind}", code, text, exc, validated(build, code))

    def _openvino(self, d, rng):
        """validate on the example's OpenVINO build with its .xml or .bin corrupted."""
        if self._ov_build is None:
            build = self.work / "ov_build"
            code, text, exc = run_cli(["export", EXAMPLE / "digits.keras", "-t", "openvino", "-q", "float32",
                                       "-o", build, "--force", "--no-latency"], timeout=600)  # fmt: skip
            if code != 0:
                raise RuntimeError(f"could not build the OpenVINO fixture: {text} {exc!r}")
            self._ov_build = build
        build = d / "build"
        shutil.copytree(self._ov_build, build)
        xml = next(build.rglob("*.xml"))
        if rng.random() < 0.5:
            xml.write_text(mutate_ir_xml(xml.read_text(), rng))
            case = "xml"
        else:
            victim = rng.choice([xml, xml.with_suffix(".bin")])
            kind = rng.choice(BYTE_KINDS)
            victim.write_bytes(mutate_bytes(victim.read_bytes(), kind, rng))
            case = f"{victim.suffix}:{kind}"
        code, text, exc = run_cli(["validate", build, "--eval", EXAMPLE / "eval.npz"], self.timeout)
        return judge(f"validate openvino {case}", code, text, exc, validated(build, code))

    def _data(self, d, rng):
        if rng.random() < 0.5:
            path = d / "eval.npy"
            data, case = bad_npy(rng)
            path.write_bytes(data)
        else:
            path = d / "eval.npz"
            case = bad_npz(rng, path)
        build = d / "build"
        shutil.copytree(self.build, build)
        code, text, exc = run_cli(["validate", build, "--eval", path, "--model", self.source], self.timeout)
        return judge(f"validate --eval {case}", code, text, exc, validated(build, code))

    def _images(self, d, rng):
        case = bad_images(rng, d / "images")
        out = d / "build"
        code, text, exc = run_cli(["export", self.person, "-t", "tflite", "-q", "int8", "--calib", d / "images",
                                   "--eval", d / "images", "-o", out, "--no-latency"], self.timeout)  # fmt: skip
        left = stray(d) + ([f"{out} exists after a failed export"] if code not in (0, 1, None) and out.exists() else [])
        return judge(f"export --eval {case}", code, text, exc, left)

    def _config(self, d, rng):
        out = d / "build"
        text, case = bad_config(rng, self.source, out)
        cfg = d / "edgekit.toml"
        cfg.write_text(text, encoding="latin-1")
        code, printed, exc = run_cli(["export", "--config", cfg, "-q", "int8", "--calib", self.eval], self.timeout)
        left = stray(d) + ([f"{out} exists after a failed export"] if code not in (0, 1, None) and out.exists() else [])
        return judge(f"export --{case}", code, printed, exc, left)

    def _device(self, d, rng):
        text, case = bad_device(rng)
        dev = d / "board.toml"
        dev.write_text(text)
        code, printed, exc = run_cli(["simulate", self.source, "--device-file", dev, "--seconds", "0.01"], self.timeout)
        return judge(f"simulate --{case}", code, printed, exc, stray(d))
