"""A buildable firmware project for an emulated board: the TFLM sources of the model, a
``main.cc`` that runs it on samples and prints the outputs, start-up code, linker script and
a Makefile that compiles only TFLM's runtime core and the kernels the op resolver registers.

The project is a pure function of the model bytes and the options: generating twice gives
identical files (the TFLM root is written as given, resolved to an absolute path).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from edgekit import __version__
from edgekit.errors import ModelFileError, OptionError, UnsupportedError
from edgekit.files import read_bounded
from targets.c_names import camel
from targets.tflm.boards import Board, Flags, check_kernels, flags_for, get_board
from targets.tflm.cmsis_scratch import scratch_bound
from targets.tflm.sources import c_array_body, c_comment, template_env

FIRMWARE_DIR = "firmware"  # the project's folder inside a tflm artifact (export --firmware)
CMAKE_TOOLCHAIN = "arm-none-eabi.cmake"  # the CMake toolchain file beside CMakeLists.txt
PROJECT = "firmware.json"  # what the project was generated from, for `edgekit` to build and run it
INPUTS_FILE = "edgekit_inputs.bin"  # read over semihosting, relative to QEMU's working directory
ARENA_FILE = "edgekit_arena.txt"  # the arena size to use at run time (the bisection's candidates), same folder
STACK_SIZE = 0x4000  # bytes reserved below the top of RAM; the interpreter's deepest calls use a few KiB
_TREES = {"reference": "reference", "cmsis-nn": "cmsis_nn"}
_MICRO = "tensorflow/lite/micro"
# Core files only TFLM's tests use.
_TEST_ONLY = {"test_helpers.cc", "test_helper_custom_ops.cc", "fake_micro_context.cc", "mock_micro_graph.cc"}
# Kernel files every kernel may call into.
_KERNEL_SUPPORT = ("kernel_util.cc",)
# Kernels whose evaluation lives in files other than their own and <stem>_common.cc.
_KERNEL_EXTRA = {
    "unidirectional_sequence_lstm.cc": ("lstm_eval.cc", "lstm_eval_common.cc", "micro_tensor_utils.cc"),
    "svdf.cc": ("micro_tensor_utils.cc",),
}


def default_tflm_root(kernels: str) -> Path:
    """../shared/tflm/<tree> next to the repository (the trees the tests use)."""
    return Path(__file__).resolve().parents[3] / "shared" / "tflm" / _TREES[kernels]


def check_tflm_root(root: Path) -> Path:
    root = Path(root).resolve()
    if not (root / _MICRO / "micro_interpreter.cc").is_file():
        raise OptionError(f"--tflm-root {root}: not a TFLM source tree (no {_MICRO}/micro_interpreter.cc); "
                          "give a tree made by TFLM's create_tflm_tree.py")  # fmt: skip
    return root


def core_sources(root: Path) -> list[str]:
    """TFLM's runtime: every .cc of ``tensorflow/`` (with TFLite's shared kernel helpers)
    outside ``micro/kernels/`` and TFLM's test helpers, relative to ``root``."""
    out = []
    for p in (root / "tensorflow").rglob("*.cc"):
        rel = p.relative_to(root).as_posix()
        if not rel.startswith(f"{_MICRO}/kernels/") and p.name not in _TEST_ONLY and not rel.endswith("_test.cc"):
            out.append(rel)
    return sorted(out)


def _registrations(root: Path) -> dict[str, str]:
    """Resolver method -> the TFLM function returning its kernel (read from TFLM's header)."""
    text = (root / _MICRO / "micro_mutable_op_resolver.h").read_text()
    found = re.findall(r"TfLiteStatus\s+(Add\w+)\(\s*const TFLMRegistration&\s+\w+\s*=\s*([\w:]+)\(\)", text)
    return {method: fn.rsplit("::", 1)[-1] for method, fn in found}


def kernel_sources(root: Path, methods: list[str], kernels: str) -> list[str]:
    """The kernel files the resolver's ``methods`` need: the file defining each registration
    function (the CMSIS-NN version first for cmsis-nn), its ``_common.cc`` and helpers."""
    regs = _registrations(root)
    dirs = [root / _MICRO / "kernels"]
    if kernels == "cmsis-nn":
        dirs.insert(0, root / _MICRO / "kernels" / "cmsis_nn")
    files = {p.name: p for d in reversed(dirs) for p in sorted(d.glob("*.cc"))}  # cmsis_nn/ wins
    texts = {name: p.read_text(errors="replace") for name, p in files.items()}
    chosen: set[str] = set(_KERNEL_SUPPORT)
    for method in methods:
        fn = regs.get(method)
        if fn is None:
            raise UnsupportedError(f"op resolver method {method}: not in {root / _MICRO}/micro_mutable_op_resolver.h")
        definers = [n for n, t in texts.items() if re.search(rf"\b{fn}\(\)\s*\{{", t)]
        if not definers:
            raise UnsupportedError(f"{method}: no kernel file in {root / _MICRO}/kernels defines {fn}(); "
                                   "edgekit firmware builds only TFLM's builtin kernels")  # fmt: skip
        for name in definers:
            stem = name.removesuffix(".cc")
            chosen.update(n for n in (name, f"{stem}_common.cc", *_KERNEL_EXTRA.get(name, ())) if n in files)
    return sorted(files[n].relative_to(root).as_posix() for n in chosen)


_CMSIS_NN = "third_party/cmsis_nn/Source"
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
# A definition at the start of a line: `type arm_name(` (functions) or `type name[` (tables).
_DEFINES = re.compile(r"^(?!static\b|__STATIC)[A-Za-z_][\w \t\*]*?\b(\w+)\s*[\(\[]", re.M)


def cmsis_nn_sources(root: Path, kernel_srcs: list[str]) -> list[str]:
    """The CMSIS-NN library files the ``kernel_srcs`` call into, transitively: each file
    defining a symbol some chosen file names (the linker drops the unused functions in them)."""
    lib = root / _CMSIS_NN
    texts = {p.relative_to(root).as_posix(): _COMMENT.sub("", p.read_text(errors="replace"))
             for p in sorted(lib.rglob("*.c"))}  # fmt: skip
    defined: dict[str, str] = {}
    for rel, text in texts.items():
        for name in _DEFINES.findall(text):
            defined.setdefault(name, rel)
    chosen: set[str] = set()
    todo = [_COMMENT.sub("", (root / k).read_text(errors="replace")) for k in kernel_srcs]
    while todo:
        for name in set(re.findall(r"\b(?:arm_\w+|\w+_table\w*)\b", todo.pop())):
            rel = defined.get(name)
            if rel is not None and rel not in chosen:
                chosen.add(rel)
                todo.append(texts[rel])
    return sorted(chosen)


@dataclass(frozen=True)
class FirmwareProject:
    """The rendered files of one firmware project, not yet written."""

    name: str
    board: Board
    kernels: str
    tflm_root: Path
    flags: Flags
    files: dict  # file name -> text
    record: dict  # the content of firmware.json


def _sample_bytes(graph, sample: bytes | None, note: str | None) -> tuple[bytes, str]:
    need = sum(t.nbytes for t in graph.inputs)
    if sample is None:
        return bytes(need), "zeros"
    if len(sample) != need:
        raise OptionError(f"--sample: {len(sample)} bytes, the model's inputs take {need}")
    return sample, c_comment(note or "the sample given")


def sample_from_data(data: bytes, path: Path, index: int = 0) -> tuple[bytes, str]:
    """(every input tensor's stored bytes, in order; a note) of sample ``index`` of an evaluation
    data file (what ``--eval`` takes: float values in the model's input domain, or the stored
    integers), quantized with the model's input parameters as every runner does."""
    import numpy as np

    from edgekit.data import Dataset
    from edgekit.runtime.io import to_runtime
    from edgekit.tflite_graph import TFLiteGraph
    from targets.tflm.runner import _info

    inputs = [_info(t) for t in TFLiteGraph(data, "model").inputs]
    dataset = Dataset.open(path, inputs, option="--sample")
    if not 0 <= index < len(dataset):
        raise OptionError(f"--sample-index {index}: {path} has {len(dataset)} samples (give 0 to {len(dataset) - 1})")
    xs = dataset.take(index + 1)[index]
    raw = b"".join(np.ascontiguousarray(to_runtime(x, t)).tobytes() for x, t in zip(xs, inputs))
    return raw, f"sample {index} of {Path(path).name}"


def render_project(sources, graph, *, model_name: str, board: str, kernels: str, tflm_root: Path,
                   sample: bytes | None = None, sample_note: str | None = None) -> FirmwareProject:  # fmt: skip
    """The project for TFLMSources ``sources`` (of TFLiteGraph ``graph``) on ``board``."""
    b = get_board(board)
    check_kernels(kernels)
    root = check_tflm_root(tflm_root)
    flags = flags_for(b, kernels)
    name = sources.name
    from targets.tflm.ops import resolver_ops

    methods = [o["method"] for o in resolver_ops(graph)]
    core, kern = core_sources(root), kernel_sources(root, methods, kernels)
    lib = cmsis_nn_sources(root, kern) if kernels == "cmsis-nn" else []
    model_name = c_comment(model_name)
    banner = (f"/* Generated by edgekit {__version__}: firmware for {model_name} on {b.name} ({kernels} kernels).\n"
              " * Do not edit: regenerate with `edgekit firmware`. */")  # fmt: skip
    data, note = _sample_bytes(graph, sample, sample_note)
    scratch = scratch_bound(graph, b) if kernels == "cmsis-nn" else None
    common = {"banner": banner, "name": name, "NAME": name.upper(), "Camel": camel(name), "board": b,
              "model_name": model_name, "version": __version__, "inputs_file": INPUTS_FILE,
              "arena_file": ARENA_FILE, "scratch": scratch}  # fmt: skip
    env = template_env()
    files = dict(sources.files)
    app = ["main.cc", "startup.c", "edgekit_timer.c", f"{name}_sample.c",
           *sorted(f for f in sources.files if f.endswith((".c", ".cc")))]  # fmt: skip
    files["main.cc"] = env.get_template("project/main.cc.j2").render(**common)
    files.update(profile_files(env, common, graph))
    files["startup.c"] = env.get_template("project/startup.c.j2").render(**common)
    files[f"{name}_sample.c"] = env.get_template("project/sample.c.j2").render(
        **common, body=c_array_body(data), size=len(data), sample_note=note)
    files["board.ld"] = env.get_template("project/board.ld.j2").render(**common, stack_size=STACK_SIZE)
    build = {"kernels": kernels, "tflm_root": str(root), "flags": flags, "core_srcs": core, "kernel_srcs": kern,
             "lib_srcs": lib, "app_srcs": app}  # fmt: skip
    files["Makefile"] = env.get_template("project/Makefile.j2").render(**common, **build)
    files["CMakeLists.txt"] = env.get_template("project/CMakeLists.txt.j2").render(**common, **build)
    files[CMAKE_TOOLCHAIN] = env.get_template("project/arm-none-eabi.cmake.j2").render(**common)
    record = {
        "edgekit_firmware": 1, "name": name, "board": b.name, "kernels": kernels, "tflm_root": str(root),
        "model_source": f"{name}_model_data.{sources.lang}",
        "arena_size": sources.metadata["arena"]["size"] + (scratch["bytes"] if scratch else 0),
        "stack_size": STACK_SIZE, "ops": sources.metadata["ops"], "core_sources": len(core), "kernel_sources": kern,
        "tflite_sha256": sources.metadata["tflite_sha256"],
    }  # fmt: skip
    if lib:
        record["cmsis_nn_sources"] = len(lib)
        record["cmsis_nn_scratch"] = scratch
    files[PROJECT] = json.dumps(record, indent=2, sort_keys=True) + "\n"
    return FirmwareProject(name, b, kernels, root, flags, files, record)


def profile_files(env, common: dict, graph) -> dict:
    """The instruction counter (edgekit_timer.c) and the per-op profiler main.cc includes."""
    events = max(1, len(graph.ops))  # one event per op; control-flow subgraphs may run more (dropped)
    return {"edgekit_profile.h": env.get_template("project/edgekit_profile.h.j2").render(**common, max_events=events),
            "edgekit_timer.c": env.get_template("project/edgekit_timer.c.j2").render(**common)}  # fmt: skip


def read_project(project: Path) -> dict:
    """firmware.json of a generated project."""
    try:
        return json.loads(read_bounded(Path(project) / PROJECT, PROJECT, error=ModelFileError))
    except FileNotFoundError:
        raise ModelFileError(f"{project}: no {PROJECT}; is it a project written by `edgekit firmware`?") from None
    except ValueError as e:
        raise ModelFileError(f"{project / PROJECT}: unreadable ({e})") from e


def project_for(data: bytes, *, name: str, model_name: str, board: str, kernels: str, tflm_root: Path | None = None,
                lang: str = "c", section: str | None = None, arena_margin: int | None = None,
                sample: tuple[bytes, str] | None = None, keep_strings: bool = False,
                arena32: tuple[int, str] | None = None, names: dict | None = None) -> FirmwareProject:  # fmt: skip
    """Check, measure and render the model's TFLM sources, then the project around them."""
    from edgekit.tflite_graph import TFLiteGraph
    from targets.tflm.exporter import build_tflm_sources

    check_kernels(kernels)
    get_board(board)
    root = check_tflm_root(tflm_root if tflm_root is not None else default_tflm_root(kernels))
    sources = build_tflm_sources(data, name=name, model_name=model_name, lang=lang, section=section,
                                 arena_margin=arena_margin, keep_strings=keep_strings, arena32=arena32,
                                 names=names)  # fmt: skip
    return render_project(sources, TFLiteGraph(data, model_name), model_name=model_name, board=board,
                          kernels=kernels, tflm_root=root, sample=sample[0] if sample else None,
                          sample_note=sample[1] if sample else None)  # fmt: skip


def artifact_options(artifact) -> dict:
    """The TFLM options a tflm artifact was made with (C name, language, section, margin) and
    its model bytes, as keyword arguments of ``project_for``. The entries come from a manifest:
    a missing or malformed one is a ModelFileError, and the C name must be a plain identifier
    (it names the files the project writes)."""
    from targets.c_names import c_identifier
    from targets.tflm.runner import model_bytes

    meta = artifact.metadata
    try:
        name, margin = meta["c_name"], meta["arena"]["margin"]
        if not isinstance(name, str) or c_identifier(name) != name:
            raise ValueError(f"c_name {name!r} is not a C identifier")
        options = {"name": name, "lang": meta.get("lang", "c"), "section": meta.get("section"), "arena_margin": margin,
                   "keep_strings": bool(meta.get("keep_strings", False))}
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"{artifact.directory}: the tflm artifact's manifest entry is damaged ({e}); "
                             "re-export the build") from None  # fmt: skip
    return {"data": model_bytes(artifact), **options, "names": _name_map(artifact.directory / f"{name}_names.json")}


def _name_map(path: Path) -> dict | None:
    """The artifact's NAME_names.json (what stripping took out), or None: it only labels comments."""
    try:
        found = json.loads(read_bounded(path, path.name, error=ModelFileError))
    except (FileNotFoundError, ModelFileError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def project_from_artifact(artifact, out: Path, *, model_name: str | None = None, **options) -> FirmwareProject:
    """The project of a tflm artifact, written into ``out``."""
    given = artifact_options(artifact)
    project = project_for(**given, model_name=model_name or f"{given['name']}.tflite", **options)
    out.mkdir(parents=True, exist_ok=True)
    for fname, text in project.files.items():
        (out / fname).write_text(text)
    return project


def model_from_source(source: Path, scheme: str | None = None) -> dict:
    """The model bytes and TFLM options of a ``.tflite`` or of the tflm artifact of a build
    (``scheme`` picks one when the build has several), as keyword arguments of ``project_for``."""
    from targets.c_names import model_c_name

    source = Path(source)
    if source.is_file() and source.suffix.lower() == ".tflite":
        return {"data": source.read_bytes(), "name": model_c_name(source.stem, explicit=False), "model_name": source.name}
    artifact, manifest = tflm_artifact(source, scheme)
    options = artifact_options(artifact)
    try:
        model_name = Path(str(manifest["source"]["path"])).name
    except (KeyError, TypeError):
        model_name = f"{options['name']}.tflite"
    return {**options, "model_name": model_name}


def tflm_artifact(source: Path, scheme: str | None = None):
    """(the tflm Artifact of the build ``source``, its manifest); ``scheme`` picks one."""
    from edgekit.build import BuildDir
    from targets.base import build_artifacts

    source = Path(source)
    if not source.is_dir():
        raise OptionError(f"{source}: give a build directory (edgekit export -t tflm) or a .tflite file")
    build = BuildDir(source)
    manifest = build.read_manifest()
    tflm = [a for a in build_artifacts(build, manifest) if a.target == "tflm"]
    found = [a for a in tflm if scheme in (None, a.scheme)]
    if len(found) != 1:
        have = ", ".join(a.scheme for a in tflm) or "none"
        raise OptionError(f"{source}: {'several' if found else 'no'} tflm artifacts{f' of scheme {scheme}' if scheme else ''} "
                          f"(tflm schemes: {have}); export with -t tflm{' or pass --scheme' if found else ''}")  # fmt: skip
    return found[0], manifest
