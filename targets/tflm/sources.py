"""Render the TFLite Micro sources from the Jinja2 templates in ``firmware/templates``.

Output is a pure function of the model bytes and the options: no timestamps or absolute
paths, so generating twice gives identical files.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from edgekit import __version__
from edgekit.errors import OptionError
from targets.c_names import camel

def firmware_root() -> Path:
    """firmware/ (templates, kernel shims): in the source tree, or the edgekit_firmware data
    package of an installed wheel."""
    here = Path(__file__).resolve().parents[2] / "firmware"
    if (here / "templates").is_dir():
        return here
    from importlib.resources import files

    return Path(str(files("edgekit_firmware")))


def _templates() -> Path:
    return firmware_root() / "templates"


TEMPLATES = _templates()
_PER_LINE = 12
_HEX = [f"0x{b:02x}," for b in range(256)]
CTYPES = {
    "int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "uint16": "uint16_t",
    "int32": "int32_t", "uint32": "uint32_t", "int64": "int64_t", "float32": "float",
    "float64": "double", "bool": "uint8_t",
}  # fmt: skip


@dataclass(frozen=True)
class ArenaFigures:
    """Arena bytes: measured (split) on the host, the margin added, and the 32-bit figure."""

    nonpersistent: int
    persistent: int
    margin: int
    persistent32: int
    derivation: str
    measured32: int | None = None  # the exact arena bisected on an emulated 32-bit core
    measured32_on: str = ""  # where: "mps2-an386 (Cortex-M4F), reference kernels"

    @property
    def required(self) -> int:
        return self.nonpersistent + self.persistent

    @property
    def size(self) -> int:
        return self.required + self.margin

    @property
    def estimate32(self) -> int:
        return self.nonpersistent + self.persistent32 + self.margin

    @property
    def size32(self) -> int:
        return self.measured32 if self.measured32 is not None else self.estimate32

    def to_json(self) -> dict:
        out = {
            "nonpersistent": self.nonpersistent, "persistent": self.persistent, "required": self.required,
            "margin": self.margin, "size": self.size, "persistent_32bit": self.persistent32,
            "size_32bit": self.size32, "derivation": self.derivation, "measured_on": "64-bit host",
        }  # fmt: skip
        if self.measured32 is not None:
            out.update(size_32bit_estimate=self.estimate32, size_32bit_measured_on=self.measured32_on)
        return out


def template_env():
    """The Jinja environment of firmware/templates (strict: an undefined name is an error)."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def c_array_body(data: bytes) -> str:
    """The initializer lines of a byte array, 12 values per line."""
    lines = []
    for start in range(0, len(data), _PER_LINE):
        lines.append("  " + " ".join(_HEX[b] for b in data[start : start + _PER_LINE]))
    return "\n".join(lines)


def c_float(value: float) -> str:
    text = f"{value:.9g}"
    return text if any(c in text for c in ".en") else text + ".0"


def c_string(text: str) -> str:
    out = []
    for byte in text.encode("utf-8"):
        ch = chr(byte)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= byte < 127 and ch != "?":  # '?' could start a trigraph
            out.append(ch)
        else:
            out.append(f"\\{byte:03o}")
    return "".join(out)


def c_comment(text: str) -> str:
    """``text`` made safe inside a ``/* */`` or ``//`` comment: printable ASCII only (no
    backslash or '?', so no line splice or trigraph), and no comment delimiters."""
    safe = "".join(ch if " " <= ch <= "~" and ch not in "\\?" else "_" for ch in text)
    return safe.replace("*/", "*_/").replace("/*", "/_*")


def check_section(section: str | None) -> None:
    if section is not None and not re.fullmatch(r"[A-Za-z0-9_.$]+", section):
        raise OptionError(f"--section {section!r}: use a linker section name such as .rodata.model")


def _tensors(graph, names: list | None = None) -> list[dict]:
    """The I/O tensors for the settings header; ``names`` (tensor index -> name, from a name
    map) labels the tensors of a model whose names were stripped."""
    out = []
    for kind, tensors in (("input", graph.inputs), ("output", graph.outputs)):
        for i, t in enumerate(tensors):
            if t.dtype not in CTYPES:
                raise OptionError(f"{kind} {i} has dtype {t.dtype}, which has no C type here")
            q = t.quant if t.quant is not None and len(t.quant.scale) == 1 else None
            out.append({
                "kind": kind, "KIND": kind.upper(), "index": i, "label": c_comment(t.name or _listed(names, t.index)), "ctype": CTYPES[t.dtype],
                "shape": list(t.shape), "elements": t.elements, "bytes": t.nbytes,
                "scale": c_float(q.scale[0]) if q else None, "zero_point": q.zero_point[0] if q else None,
            })  # fmt: skip
    return out


def _listed(names: list | None, index: int) -> str:
    ok = isinstance(names, list) and 0 <= index < len(names) and isinstance(names[index], str)
    return names[index] if ok else ""


def render_sources(graph, *, name: str, model_name: str, scheme: str, lang: str, section: str | None,
                   labels: list[str] | None, arena: ArenaFigures, ops: list[dict], app: bool = False,
                   data: bytes | None = None, tensor_names: list | None = None) -> dict[str, str]:
    """File name -> text for the generated files (and ``NAME_main.cc`` with ``app``); the model
    array holds ``data`` (default: the graph's bytes; the stripped model), the comments name
    the graph's tensors."""
    data = graph.data if data is None else data
    check_section(section)
    if lang not in ("c", "cc"):
        raise OptionError(f"--lang {lang!r}: choose c or cc")
    sha = hashlib.sha256(data).hexdigest()
    model_name = c_comment(model_name)  # a file name may hold newlines or comment delimiters
    banner = (
        f"/* Generated by edgekit {__version__} from {model_name} ({scheme}, sha256 {sha[:16]}).\n"
        " * Do not edit: regenerate with `edgekit header` or `edgekit export --target tflm`. */"
    )
    NAME = name.upper()
    common = {"banner": banner, "name": name, "NAME": NAME, "Camel": camel(name), "model_name": model_name,
              "scheme": scheme, "size": len(data)}  # fmt: skip
    env = template_env()
    files = {
        f"{name}_model_data.h": env.get_template("model_data.h.j2").render(
            **common, guard=f"{NAME}_MODEL_DATA_H_"
        ),
        f"{name}_model_data.{lang}": env.get_template("model_data.c.j2").render(
            **common, lang=lang, section=section, body=c_array_body(data)
        ),
        f"{name}_model_settings.h": env.get_template("model_settings.h.j2").render(
            **common, guard=f"{NAME}_MODEL_SETTINGS_H_", arena=arena, tensors=_tensors(graph, tensor_names),
            inputs=len(graph.inputs), outputs=len(graph.outputs), labels=[c_string(x) for x in labels or []],
        ),  # fmt: skip
        f"{name}_op_resolver.h": env.get_template("op_resolver.h.j2").render(
            **common, guard=f"{NAME}_OP_RESOLVER_H_", ops=ops
        ),
    }
    if app:
        files[f"{name}_main.cc"] = env.get_template("main.cc.j2").render(
            **common, labels=labels, inputs_quantized=graph.inputs[0].quant is not None
        )
    return files


def parse_c_array(text: str, name: str) -> bytes:
    """The bytes of ``NAME_model_data`` back from a generated source file."""
    match = re.search(rf"\b{re.escape(name)}_model_data\[\][^=]*=\s*\{{(.*?)\}};", text, re.S)
    if match is None:
        raise ValueError(f"no {name}_model_data array in the source")
    data = bytes.fromhex("".join(re.findall(r"0x([0-9a-fA-F]{2})", match.group(1))))
    length = re.search(rf"\b{re.escape(name)}_model_data_len\s*=\s*(\d+)", text)
    if length is None or int(length.group(1)) != len(data):
        raise ValueError(f"{name}_model_data_len does not match the array ({len(data)} bytes)")
    return data
