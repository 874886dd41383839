"""Generate NAME.c / NAME.h from the TFLiteGraph of an int8 model.

The C file holds the weights and every kernel parameter as ``static const`` data, one
static arena laid out by targets.c.plan, and ``NAME_invoke``, which calls the kernel shim
op by op. Graph inputs and outputs have slots in the arena, as in TFLM (the
input slot is reused once the input is dead): ``NAME_invoke`` copies the caller's input in and
the output out, unless the caller already works in the slots (``NAME_input()``/``NAME_output()``). Output is a pure function of the model bytes and the options.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from edgekit import __version__
from edgekit.errors import UnsupportedError
from edgekit.tflite_graph import TFLiteGraph
from targets import cmsis_nn_sizes
from targets.c import cmsis, cmsis_s16
from targets.c import ops as lowering
from targets.c.kernels import check_kernels
from targets.c.plan import ALIGN, Buffer, Plan, place, plan
from targets.c.shapes import check_shapes
from targets.tflm.sources import CTYPES, c_comment, template_env

_PER_LINE = 16
SCRATCH = 1 << 30  # plan keys of kernel scratch buffers: SCRATCH + op index (tensor groups are tensor indices)
_NP = {"int8": "<i1", "int32": "<i4", "uint8": "<u1", "int16": "<i2", "int64": "<i8"}
_BYTES = {"int8_t": 1, "int16_t": 2, "int32_t": 4, "int64_t": 8}  # of the lowerings' constant arrays
SCHEMES = ("int8", "int16x8")


@dataclass(frozen=True)
class CModel:
    """The rendered files of one model, and what the generator decided."""

    name: str
    files: dict  # file name -> text; NAME.c first
    plan: Plan
    ops: tuple[str, ...]
    const_bytes: int  # weights, biases and parameters in the C file
    io_bytes: int  # bytes of the model's inputs and outputs (their slots are in the arena)

    kernels: str = "portable"
    backends: dict = field(default_factory=dict)  # op name -> "cmsis-nn" / "portable" (who runs it)
    arena_by_build: dict = field(default_factory=dict)  # CMSIS-NN build -> arena with only its scratch
    # NAME.c with every op call bracketed by the instruction counter when compiled with
    # -DEDGEKIT_OP_TICKS (the measurement build, targets/c/crossbuild.py); not shipped
    measured_c: str = ""

    def metadata(self) -> dict:
        return {"c_name": self.name, "ops": list(self.ops), "kernels": self.kernels, "backends": dict(self.backends),
                "plan": self.plan.to_json(), "const_bytes": self.const_bytes, "io_bytes": self.io_bytes,
                **({"arena_by_build": dict(self.arena_by_build)} if self.arena_by_build else {})}  # fmt: skip


def _float(x: float) -> str:
    """A C float literal that reads back as the float32 ``x``."""
    return f"{float(np.float32(x))!r}f"  # repr: shortest exact decimal, always with '.' or 'e'



def _values(ctype: str, values) -> str:
    items = [str(int(v)) for v in values]
    return "\n".join("    " + ", ".join(items[i:i + _PER_LINE]) + "," for i in range(0, len(items), _PER_LINE))


def _groups(graph: TFLiteGraph, lowered: dict) -> tuple[dict, dict]:
    """tensor -> group id (aliases and in-place outputs share their input's group), and
    group -> Buffer over the whole graph (graph inputs/outputs are not planned)."""
    sg = graph.main
    tensors = sg.tensors
    life = graph.lifetimes()
    group = {t: t for t in life}
    for op in sg.ops:
        out = op.outputs[0]
        src = None
        if op.opcode in lowering.ALIASES:
            src = op.inputs[0]
        else:
            for pos in lowered[op.index].inplace:
                i = op.inputs[pos]
                # Only a buffer no one reads later: every tensor sharing it dies at this op.
                if (i >= 0 and not tensors[i].is_constant and tensors[i].nbytes == tensors[out].nbytes
                        and max(life[m][1] for m in group if group[m] == group[i]) == op.index):  # fmt: skip
                    src = i
                    break
        if src is not None:
            group[out] = group[src]
    spans: dict[int, list[int]] = {}
    for t, (first, last) in life.items():
        g = group[t]
        if tensors[t].is_constant:
            continue
        s = spans.setdefault(g, [first, last, 0])
        s[0], s[1], s[2] = min(s[0], first), max(s[1], last), max(s[2], tensors[t].nbytes)
    return group, {g: Buffer(g, size, first, last) for g, (first, last, size) in sorted(spans.items())}


def check(graph: TFLiteGraph) -> None:
    """Everything that makes the c target refuse a model, before any file is written."""
    lowering.check_ops(graph)
    scheme = graph.quant_scheme()
    act = {"int8": "int8", "int16x8": "int16"}.get(scheme)
    for t in graph.inputs + graph.outputs:  # float I/O only through QUANTIZE/DEQUANTIZE (the ops check it)
        if act is None or t.dtype not in (act, "float32"):
            raise UnsupportedError(f"{graph.source}: {'input' if t in graph.inputs else 'output'} '{t.name}' is "
                                   f"{t.dtype} in a {scheme} graph; the c target takes int8 and int16x8 graphs "
                                   "(--quant int8 / int16x8), or use --target tflm")  # fmt: skip


def _lower(graph, op, tensors, kernels: str) -> lowering.Lowered:
    """The op's CMSIS-NN call where it has one (and TFLM's CMSIS-NN kernel would use it; int16
    activations: the _s16 functions), else the portable shim's."""
    table = cmsis_s16.LOWERINGS if lowering._s16(op, tensors) else cmsis.LOWERINGS
    if kernels == "cmsis-nn" and op.opcode in table:
        low = table[op.opcode](graph, op, tensors)
        if low is not None:
            return low
    return lowering.LOWERINGS[op.opcode](graph, op, tensors)


def _need(low: lowering.Lowered, builds: tuple[str, ...]) -> int:
    """Scratch bytes of one op: the portable kernel's, or the largest of these CMSIS-NN builds'."""
    return max(low.sizes[b] for b in builds) if low.sizes else low.scratch


def _variants(lowered: dict, need: dict, memory: Plan, planned: list[Buffer]) -> list:
    """[(build, preprocessor test, {op: (offset, bytes)}, arena)] for each CMSIS-NN build whose
    scratch exceeds the plan's at some op: those ops' scratch placed first fit around the
    planned buffers (the rest of the plan unchanged)."""
    out = []
    for build, test in cmsis_nn_sizes.VARIANTS:
        grow = {i: n for i, low in lowered.items() if (n := _need(low, (build,))) > need[i]}
        if not grow:
            continue
        fixed = tuple((memory.offsets[b.key], b) for b in planned if b.key - SCRATCH not in grow)
        extra = sorted((Buffer(SCRATCH + i, n, i, i) for i, n in grow.items()), key=lambda b: (-b.size, b.key))
        offsets, top = place(extra, fixed)
        out.append((build, test, {i: (offsets[SCRATCH + i], n) for i, n in grow.items()}, max(memory.size, top)))
    return out


def generate(data: bytes, *, name: str, model_name: str, section: str | None = None,
             kernels: str = "portable") -> CModel:  # fmt: skip
    """Lower, plan and render the C of one int8 TFLite model with the ``kernels`` back-end."""
    check_kernels(kernels)
    graph = TFLiteGraph(data, model_name)
    check(graph)
    sg = graph.main
    tensors = sg.tensors
    for op in sg.ops:
        check_shapes(graph, op, tensors)
    lowered = {op.index: _lower(graph, op, tensors, kernels) for op in sg.ops if op.opcode not in lowering.ALIASES}
    group, buffers = _groups(graph, lowered)
    # Kernel scratch (TFLM's RequestScratchBufferInArena) lives in the arena for its op only:
    # CMSIS-NN's as its GCC builds without MVE size it; builds that need more get their own
    # places for those ops around the same tensors (targets.cmsis_nn_sizes.VARIANTS).
    need = {i: _need(low, cmsis_nn_sizes.BASE) for i, low in lowered.items()}
    scratch = [Buffer(SCRATCH + i, n, i, i) for i, n in sorted(need.items()) if n]
    memory = plan(list(buffers.values()) + scratch)
    variants = _variants(lowered, need, memory, list(buffers.values()) + scratch)
    by_build = {}
    if kernels == "cmsis-nn":
        arenas = {build: arena for build, _, _, arena in variants}
        by_build = {b: arenas.get(b, memory.size) for b, *_ in cmsis_nn_sizes.FEATURES}
    n_in, n_out = len(sg.inputs), len(sg.outputs)
    in_names = ["input"] if n_in == 1 else [f"input{k}" for k in range(n_in)]
    out_names = ["output"] if n_out == 1 else [f"output{k}" for k in range(n_out)]

    def pointer(t: int, write: bool) -> str:
        ctype = CTYPES[tensors[t].dtype]
        return f"({'' if write else 'const '}{ctype} *)(arena + {memory.offsets[group.get(t, t)]})"

    arrays, structs, body, const_bytes = [], [], [], 0
    body_ops = []  # the opcode of each line of body
    seen_buffers: dict[int, str] = {}
    for op in sg.ops:
        if op.opcode in lowering.ALIASES:  # the output is the input's buffer: nothing to run
            continue
        low = lowered[op.index]
        refs = {}
        for pos, t in enumerate(op.inputs):
            uses_bias = pos == 2 and any("{a_bias}" in text for text in (low.call, *(d[2] for d in low.decls)))
            if t < 0 or f"{{in{pos}}}" not in low.call and not uses_bias:
                continue  # an input only the generator reads (axes, paddings, permutations)
            tensor = tensors[t]
            if tensor.is_constant:
                if tensor.buffer not in seen_buffers:
                    cname = f"{name}_t{t}"
                    seen_buffers[tensor.buffer] = cname
                    vals = np.frombuffer(graph.tensor_data(tensor), _NP[tensor.dtype])[:tensor.elements]
                    arrays.append({"name": cname, "ctype": CTYPES[tensor.dtype], "count": len(vals),
                                   "body": _values(CTYPES[tensor.dtype], vals), "what": c_comment(tensor.name)})  # fmt: skip
                    const_bytes += tensor.nbytes
                refs[f"in{pos}"] = seen_buffers[tensor.buffer]
            else:
                refs[f"in{pos}"] = pointer(t, False)
        refs["out0"] = pointer(op.outputs[0], True)
        refs["scratch_buf"], refs["scratch_size"] = "NULL", "0"
        if need[op.index]:
            refs["scratch"] = f"(int32_t *)(arena + {memory.offsets[SCRATCH + op.index]})"
            refs["scratch_buf"] = f"{name}_arena + {memory.offsets[SCRATCH + op.index]}"
            refs["scratch_size"] = str(need[op.index])
        refs["p"] = f"{name}_op{op.index}"
        refs["status"] = str(op.index + 1)
        refs.update({f"s_{d[1]}": f"{name}_op{op.index}_{d[1]}" for d in low.decls})
        for suffix, ctype, vals in low.arrays:
            cname = f"{name}_op{op.index}_{suffix}"
            arrays.append({"name": cname, "ctype": ctype, "count": len(vals), "body": _values(ctype, vals),
                           "what": f"{op.opcode} {op.index} {suffix}"})  # fmt: skip
            const_bytes += _BYTES[ctype] * len(vals)
            refs[f"a_{suffix}"] = cname
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            refs["a_bias"] = refs["in2"]
        if low.struct is not None:
            structs.append({"type": low.struct[0], "name": refs["p"], "init": low.struct[1], "what": op.opcode, "count": None,
                            "alts": []})  # fmt: skip
        for ctype, suffix, init, count in low.decls:
            alts = [(test, init.format(**{**refs, "scratch_buf": f"{name}_arena + {ops[op.index][0]}",
                                          "scratch_size": str(ops[op.index][1])}))
                    for _, test, ops, _ in variants if "{scratch_buf}" in init and op.index in ops]  # fmt: skip
            structs.append({"type": ctype, "name": refs[f"s_{suffix}"], "init": init.format(**refs),
                            "what": op.opcode, "count": count, "alts": alts})  # fmt: skip
        body.append(f"{low.call.format(**refs)} /* {op.index} {op.opcode} */")
        body_ops.append(op.opcode)
    sig = ", ".join([f"const {CTYPES[tensors[t].dtype]} *{n}" for t, n in zip(sg.inputs, in_names)]
                    + [f"{CTYPES[tensors[t].dtype]} *{n}" for t, n in zip(sg.outputs, out_names)])  # fmt: skip
    io = [{"name": n, "tensor": tensors[t], "dims": list(tensors[t].shape), "kind": kind, "label": c_comment(tensors[t].name),
           "offset": memory.offsets[group.get(t, t)], "bytes": tensors[t].nbytes,
           "scale": _float(tensors[t].quant.scale[0]) if tensors[t].quant else None, "ctype": CTYPES[tensors[t].dtype]}
          for kind, ids, names in (("INPUT", sg.inputs, in_names), ("OUTPUT", sg.outputs, out_names))
          for t, n in zip(ids, names)]  # fmt: skip
    model = c_comment(model_name)
    backends = {}
    for op in sg.ops:
        if op.opcode not in lowering.ALIASES:
            backends.setdefault(op.opcode, set()).add(lowered[op.index].backend)
    used = {b for v in backends.values() for b in v}
    what = "portable kernels" if kernels == "portable" else "CMSIS-NN kernels" + (
        f", portable for {', '.join(sorted(o for o, v in backends.items() if 'portable' in v))}" if "portable" in used else "")
    banner = (f"/* Generated by edgekit {__version__}: standalone C of {model} ({graph.quant_scheme()}, {what}).\n"
              f" * tflite sha256 {hashlib.sha256(data).hexdigest()}. Do not edit: regenerate with "
              "`edgekit export -t c`. */")  # fmt: skip
    common = {"banner": banner, "name": name, "NAME": name.upper(), "sig": sig, "io": io, "plan": memory,
              "arena": max(memory.size, ALIGN), "align": ALIGN, "section": section,
              "variants": [{"build": b, "test": t, "ops": len(o), "arena": a} for b, t, o, a in variants],
              "headers": [h for h, b in (("ek_kernels.h", "portable"), (cmsis.HEADER, "cmsis-nn")) if b in used]}  # fmt: skip
    env = template_env()
    c, measured = (env.get_template("c/model.c.j2").render(**common, arrays=arrays, structs=structs, body=body,
                                                             op_ticks=ticks, body_ops=body_ops)
                   for ticks in (False, True))  # fmt: skip
    h = env.get_template("c/model.h.j2").render(**common)
    const_bytes += sum(_struct_bytes(s["type"], s.get("count")) for s in structs)
    io_bytes = sum(tensors[t].nbytes for t in (*sg.inputs, *sg.outputs))
    ops = tuple(sorted({op.opcode for op in sg.ops}))
    who = {op: "+".join(sorted(v)) for op, v in sorted(backends.items())}
    return CModel(name, {f"{name}.c": c, f"{name}.h": h}, memory, ops, const_bytes, io_bytes, kernels, who, by_build, measured)


# sizeof the shim's parameter structs (int32 fields; ek_shape = 7 int32).
_STRUCT_WORDS = {"ek_conv": 4 * 7 + 11, "ek_fc": 4 * 7 + 7, "ek_pool": 2 * 7 + 10, "ek_add": 3 * 7 + 13,
                 "ek_softmax": 2 * 7 + 3, "ek_mul": 3 * 7 + 7, "ek_mean": 2 * 7 + 12, "ek_pad": 2 * 7 + 13,
                 "ek_concat": 7 + 2 + 10 * 7, "ek_transpose": 2 * 7 + 7, "ek_hard_swish": 2 * 7 + 6,
                 "ek_logistic": 5, "ek_quantize": 2 * 7 + 5, "ek_relu": 2 * 7 + 5,
                 # CMSIS-NN's (32-bit pointers)
                 "cmsis_nn_conv_params": 10, "cmsis_nn_dw_conv_params": 11, "cmsis_nn_dims": 4,
                 "cmsis_nn_per_channel_quant_params": 2, "cmsis_nn_quant_params": 3, "cmsis_nn_fc_params": 5,
                 "cmsis_nn_pool_params": 6, "cmsis_nn_context": 2, "cmsis_nn_transpose_params": 2, "uint32_t": 1,
                 "cmsis_nn_bias_data": 2, "cmsis_nn_per_tensor_quant_params": 2, "cmsis_nn_softmax_lut_s16": 2}  # fmt: skip


def _struct_bytes(ctype: str, count: int | None = None) -> int:
    return 4 * _STRUCT_WORDS[ctype] * (count or 1)
