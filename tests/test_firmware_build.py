"""Generated TFLM sources compile with -Wall -Wextra -Werror on the host and for Cortex-M, and
``NAME_main.cc`` (which includes the op resolver header and registers the ops) compiles against
TFLM's real headers (the tree in ../shared/tflm/reference, as TFLM's create_tflm_tree.py writes it).

Needs gcc/g++ and arm-none-eabi-gcc (Debian: gcc-arm-none-eabi, libnewlib-arm-none-eabi;
`make toolchain` installs them, and `make test` runs it first).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from edgekit.tflite_graph import TFLiteGraph
from targets.tflm.exporter import build_tflm_sources
from targets.tflm.ops import problems
from targets.tflm.firmware import default_tflm_root
from tests.conftest import EXAMPLE, ROOT, SHARED

TFLM = default_tflm_root("reference")

pytestmark = pytest.mark.slow


def _models():
    paths = []
    if SHARED.exists():
        for p in sorted(SHARED.rglob("*.tflite")):
            g = TFLiteGraph.from_file(p)
            if g.quant_scheme() in ("int8", "int16x8") and not problems(g):
                paths.append(p)
    return paths


@pytest.fixture(scope="module")
def toolchain():
    missing = [t for t in ("gcc", "g++", "arm-none-eabi-gcc", "arm-none-eabi-size", "make") if not shutil.which(t)]
    assert not missing, f"missing {', '.join(missing)}: run `make toolchain` (installs gcc-arm-none-eabi)"
    assert TFLM.is_dir(), f"{TFLM}: the TFLM tree the resolver and NAME_main.cc are compiled against is missing"


def _check(gen, name, *targets, tflm=None):
    args = ["make", "-s", "-f", str(ROOT / "firmware" / "check.mk"), f"GEN={gen}", f"NAME={name}", f"OUT={gen}/.check"]
    if tflm:
        args.append(f"TFLM={tflm}")
    return subprocess.run([*args, *targets], capture_output=True, text=True, timeout=900)


def _build(data, out, name, lang="c", section=None):
    sources = build_tflm_sources(data, name=name, model_name=f"{name}.tflite", lang=lang, section=section, app=True)
    out.mkdir(parents=True, exist_ok=True)
    for fname, text in sources.files.items():
        (out / fname).write_text(text)
    return sources


def _flash_bytes(stdout: str) -> list[int]:
    return [int(m.group(1)) + int(m.group(2)) for m in re.finditer(r"^\s*(\d+)\s+(\d+)\s+\d+\s+\d+\s+\w+\s+\S+_data\.o$", stdout, re.M)]


BIG = 1_000_000  # bytes: gcc spends over a minute on a 4 MB array (mobilenet_v2); in `make test-firmware`


def _model_params():
    for p in _models():
        yield pytest.param(p, id=p.name, marks=[pytest.mark.firmware] if p.stat().st_size > BIG else [])


@pytest.mark.parametrize("path", _model_params())
def test_shared_models_compile(path, tmp_path, toolchain):
    data = path.read_bytes()
    name = re.sub(r"\W", "_", path.stem)
    _build(data, tmp_path, name)
    res = _check(tmp_path, name, "all", "main", tflm=TFLM)
    assert res.returncode == 0, res.stdout + res.stderr
    sizes = _flash_bytes(res.stdout)
    from targets.tflm.strip import strip_strings

    model = len(strip_strings(data)[0])  # the model array holds the stripped flatbuffer
    assert len(sizes) == 4 and all(s >= model for s in sizes), res.stdout
    print(f"{path.name}: {len(data):,} B model -> {sizes[0]:,} B flash in the Cortex-M object")


def test_digits_compiles_as_c_and_cxx(tmp_path, toolchain):
    from edgekit.pipeline import ExportOptions, export

    res = export(ExportOptions(model=EXAMPLE / "digits.keras", out=tmp_path / "b", target=("tflite",), quant="int8",
                               calib=str(EXAMPLE / "calib.npz")))  # fmt: skip
    data = res.artifacts[0].primary.read_bytes()
    for lang, section in (("c", None), ("cc", ".rodata.model")):
        gen = tmp_path / lang
        _build(data, gen, "digits", lang=lang, section=section)
        out = _check(gen, "digits", "all", "main", tflm=TFLM)
        assert out.returncode == 0, out.stdout + out.stderr
        if section:
            sections = subprocess.run(["arm-none-eabi-objdump", "-h", str(gen / ".check" / "cortex-m4_data.o")],
                                      capture_output=True, text=True).stdout  # fmt: skip
            assert ".rodata.model" in sections
