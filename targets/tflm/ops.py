"""What TFLite Micro can run: its op resolver methods and the reference kernels' types.

Read from tensorflow/tflite-micro (micro_mutable_op_resolver.h and kernels/*.cc, 2025-2026
sources; the tflite-micro 0.dev2026 wheel edgekit depends on registers all of them in its
Python interpreter except DECODE, BasicClassifier and REDUCE_ALL). The supported-ops table in
docs/tflm.md is generated from this module (``supported_ops_markdown``, by ``make docs``), and
a test keeps the two in sync.

Type sets name the activation type an op's kernel accepts (the type of its first non-constant
input). Ops not listed in ``TYPES`` are accepted for any type and left to TFLM to judge when
the arena is measured.
"""

from __future__ import annotations

from edgekit.errors import UnsupportedError

# BuiltinOperator name -> MicroMutableOpResolver method.
BUILTINS: dict[str, str] = {
    line.split()[0]: line.split()[1]
    for line in """
    ABS AddAbs
    ADD AddAdd
    ADD_N AddAddN
    ARG_MAX AddArgMax
    ARG_MIN AddArgMin
    ASSIGN_VARIABLE AddAssignVariable
    AVERAGE_POOL_2D AddAveragePool2D
    BATCH_MATMUL AddBatchMatMul
    BATCH_TO_SPACE_ND AddBatchToSpaceNd
    BROADCAST_ARGS AddBroadcastArgs
    BROADCAST_TO AddBroadcastTo
    CALL_ONCE AddCallOnce
    CAST AddCast
    CEIL AddCeil
    CONCATENATION AddConcatenation
    CONV_2D AddConv2D
    COS AddCos
    CUMSUM AddCumSum
    DEPTH_TO_SPACE AddDepthToSpace
    DEPTHWISE_CONV_2D AddDepthwiseConv2D
    DEQUANTIZE AddDequantize
    DIV AddDiv
    DYNAMIC_UPDATE_SLICE AddDynamicUpdateSlice
    ELU AddElu
    EMBEDDING_LOOKUP AddEmbeddingLookup
    EQUAL AddEqual
    EXP AddExp
    EXPAND_DIMS AddExpandDims
    FILL AddFill
    FLOOR AddFloor
    FLOOR_DIV AddFloorDiv
    FLOOR_MOD AddFloorMod
    FULLY_CONNECTED AddFullyConnected
    GATHER AddGather
    GATHER_ND AddGatherNd
    GREATER AddGreater
    GREATER_EQUAL AddGreaterEqual
    HARD_SWISH AddHardSwish
    IF AddIf
    L2_NORMALIZATION AddL2Normalization
    L2_POOL_2D AddL2Pool2D
    LEAKY_RELU AddLeakyRelu
    LESS AddLess
    LESS_EQUAL AddLessEqual
    LOG AddLog
    LOGICAL_AND AddLogicalAnd
    LOGICAL_NOT AddLogicalNot
    LOGICAL_OR AddLogicalOr
    LOGISTIC AddLogistic
    LOG_SOFTMAX AddLogSoftmax
    MAXIMUM AddMaximum
    MAX_POOL_2D AddMaxPool2D
    MEAN AddMean
    MINIMUM AddMinimum
    MIRROR_PAD AddMirrorPad
    MUL AddMul
    NEG AddNeg
    NOT_EQUAL AddNotEqual
    PACK AddPack
    PAD AddPad
    PADV2 AddPadV2
    PRELU AddPrelu
    QUANTIZE AddQuantize
    READ_VARIABLE AddReadVariable
    REDUCE_MAX AddReduceMax
    REDUCE_MIN AddReduceMin
    RELU AddRelu
    RELU6 AddRelu6
    RESHAPE AddReshape
    RESIZE_BILINEAR AddResizeBilinear
    RESIZE_NEAREST_NEIGHBOR AddResizeNearestNeighbor
    REVERSE_V2 AddReverseV2
    ROUND AddRound
    RSQRT AddRsqrt
    SELECT_V2 AddSelectV2
    SHAPE AddShape
    SIN AddSin
    SLICE AddSlice
    SOFTMAX AddSoftmax
    SPACE_TO_BATCH_ND AddSpaceToBatchNd
    SPACE_TO_DEPTH AddSpaceToDepth
    SPLIT AddSplit
    SPLIT_V AddSplitV
    SQRT AddSqrt
    SQUARE AddSquare
    SQUARED_DIFFERENCE AddSquaredDifference
    SQUEEZE AddSqueeze
    STRIDED_SLICE AddStridedSlice
    SUB AddSub
    SUM AddSum
    SVDF AddSvdf
    TANH AddTanh
    TRANSPOSE AddTranspose
    TRANSPOSE_CONV AddTransposeConv
    UNIDIRECTIONAL_SEQUENCE_LSTM AddUnidirectionalSequenceLSTM
    UNPACK AddUnpack
    VAR_HANDLE AddVarHandle
    WHILE AddWhile
    ZEROS_LIKE AddZerosLike
    """.strip().splitlines()
}

# Custom op code string -> resolver method (Signal library, post-processing, ...).
CUSTOMS: dict[str, str] = {
    "CIRCULAR_BUFFER": "AddCircularBuffer",
    "TFLite_Detection_PostProcess": "AddDetectionPostprocess",
    "SignalDelay": "AddDelay",
    "SignalEnergy": "AddEnergy",
    "SignalFftAutoScale": "AddFftAutoScale",
    "SignalFilterBank": "AddFilterBank",
    "SignalFilterBankLog": "AddFilterBankLog",
    "SignalFilterBankSquareRoot": "AddFilterBankSquareRoot",
    "SignalFilterBankSpectralSubtraction": "AddFilterBankSpectralSubtraction",
    "SignalFramer": "AddFramer",
    "SignalIrfft": "AddIrfft",
    "SignalOverlapAdd": "AddOverlapAdd",
    "SignalPCAN": "AddPCAN",
    "SignalRfft": "AddRfft",
    "SignalStacker": "AddStacker",
    "SignalWindow": "AddWindow",
}

_FLOAT_INT8_INT16 = frozenset({"float32", "int8", "int16"})
# Activation types the reference kernels accept, for the ops whose limits matter in practice.
TYPES: dict[str, frozenset[str]] = {
    **{op: _FLOAT_INT8_INT16 for op in (
        "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "SOFTMAX", "AVERAGE_POOL_2D", "MAX_POOL_2D",
        "LOGISTIC", "TANH", "TRANSPOSE_CONV", "MEAN", "LEAKY_RELU", "RELU", "RELU6", "TRANSPOSE",
        "BATCH_MATMUL", "UNIDIRECTIONAL_SEQUENCE_LSTM",
    )},
    **{op: _FLOAT_INT8_INT16 | {"int32"} for op in ("ADD", "MUL", "PAD", "PADV2", "STRIDED_SLICE")},
    "CONCATENATION": _FLOAT_INT8_INT16 | {"int32", "int64", "bool"},
    "HARD_SWISH": frozenset({"float32", "int8"}),
    "SVDF": frozenset({"float32", "int8"}),
    "DEQUANTIZE": frozenset({"int8", "int16", "uint8"}),
    "QUANTIZE": frozenset({"float32", "int8", "int16", "int32"}),
}  # fmt: skip

# Ops whose weights are constants: a float activation with integer weights is a hybrid
# (dynamic-range) op, which TFLM has no kernels for.
_WEIGHTED = {"CONV_2D": 1, "DEPTHWISE_CONV_2D": 1, "FULLY_CONNECTED": 1, "TRANSPOSE_CONV": 1,
             "SVDF": 1, "UNIDIRECTIONAL_SEQUENCE_LSTM": 4, "BATCH_MATMUL": 1}  # fmt: skip


def method_for(opcode: str) -> str | None:
    """The MicroMutableOpResolver method registering ``opcode`` (``None``: TFLM lacks it)."""
    if opcode.startswith("CUSTOM:"):
        return CUSTOMS.get(opcode[len("CUSTOM:"):])
    return BUILTINS.get(opcode)


def _activation_type(graph, sg, op) -> str | None:
    for i in op.inputs:
        if i >= 0 and not sg.tensors[i].is_constant:
            return sg.tensors[i].dtype
    return sg.tensors[op.outputs[0]].dtype if op.outputs else None


def problems(graph) -> list[str]:
    """Why TFLM cannot run this model, one line per offending op kind (empty: it can)."""
    found: dict[str, str] = {}
    for t in graph.inputs:
        # A free batch dimension is common (TFLM's own examples have one) and TFLM uses the
        # stored batch; other free dimensions leave TFLM nothing to plan memory with.
        if any(d < 0 for d in t.shape_signature[1:]):
            found.setdefault(
                "dynamic shape",
                f"input '{t.name}' has dynamic dimensions {t.shape_signature}: TFLM needs fixed shapes "
                "(export with --input-shape)",
            )
    for sg in graph.subgraphs:
        for op in sg.ops:
            name = op.opcode
            if method_for(name) is None:
                hint = (
                    "the model needs TensorFlow (Select TF) ops; TFLM runs TFLite builtins only"
                    if name.startswith("CUSTOM:Flex")
                    else "TFLM has no kernel for it; replace that layer or run it outside the model"
                )
                found.setdefault(name, f"{name}: not available in TFLite Micro ({hint})")
                continue
            act = _activation_type(graph, sg, op)
            allowed = TYPES.get(name)
            if allowed is not None and act is not None and act not in allowed:
                hint = "export with --quant int8" if act == "int16" else f"TFLM supports {', '.join(sorted(allowed))}"
                found.setdefault(name + act, f"{name} with {act} activations: no TFLM kernel ({hint})")
            if name == "SOFTMAX" and act == "int8":
                issue = _softmax_scale_problem(graph, sg, op)
                if issue:
                    found.setdefault(name + "scale", issue)
            w = _WEIGHTED.get(name)
            if act == "float32" and w is not None and len(op.inputs) > w and op.inputs[w] >= 0:
                weight = sg.tensors[op.inputs[w]]
                if weight.is_constant and weight.dtype in ("int8", "int4", "uint8"):
                    found.setdefault(
                        name + "hybrid",
                        f"{name} with float activations and {weight.dtype} weights (dynamic-range "
                        "quantization): TFLM has no hybrid kernels (export with --quant int8)",
                    )
    return list(found.values())


# TFLM's int8 SOFTMAX (reference and CMSIS-NN) prepares with PreprocessSoftmaxScaling, which
# calls QuantizeMultiplierGreaterThanOne(beta * input_scale * 2^(31 - 5)) and aborts (TFLITE_CHECK)
# unless that is above 1: the logits' scale must exceed 2^-26 / beta.
_SOFTMAX_MIN_SCALE = 2.0**-26


def _softmax_beta(graph, sg, op) -> float:
    from edgekit.tflite_graph import _schema

    schema = _schema()
    table = schema.Model.GetRootAs(graph.data, 0).Subgraphs(sg.index).Operators(op.index).BuiltinOptions()
    if table is None:
        return 1.0
    options = schema.SoftmaxOptions()
    options.Init(table.Bytes, table.Pos)
    return float(options.Beta())


def _softmax_scale_problem(graph, sg, op) -> str | None:
    """Why TFLM would abort preparing this int8 SOFTMAX, or None."""
    if not op.inputs or op.inputs[0] < 0:
        return None
    q = sg.tensors[op.inputs[0]].quant
    if q is None or not len(q.scale):
        return None
    beta = _softmax_beta(graph, sg, op)
    if beta * float(q.scale[0]) > _SOFTMAX_MIN_SCALE:
        return None
    return (f"SOFTMAX (op {op.index}): its int8 input scale {q.scale[0]:.3g} (beta {beta:g}) is below TFLM's minimum "
            f"{_SOFTMAX_MIN_SCALE / beta:.3g} (2^-26 / beta): TFLM's softmax kernel aborts on load "
            "(QuantizeMultiplierGreaterThanOne in PreprocessSoftmaxScaling). The logits span less than "
            f"{255 * _SOFTMAX_MIN_SCALE / beta:.1e} in the calibration data, as with untrained (random) weights: "
            "export trained weights, or calibrate on data that moves the logits")  # fmt: skip


def check_graph(graph) -> None:
    """Raise UnsupportedError naming every op TFLM cannot run, before anything is written."""
    issues = problems(graph)
    if issues:
        raise UnsupportedError(f"{graph.source}: TFLite Micro cannot run this model: " + "; ".join(issues))


def resolver_ops(graph) -> list[dict]:
    """The distinct ops of the model as ``{"builtin", "method"}``, in a stable order."""
    return [{"builtin": name, "method": method_for(name)} for name in graph.op_names]


def supported_ops_markdown() -> str:
    """The TFLM supported-ops table of docs/tflm.md (written there by ``make docs``)."""
    rows = ["| op | resolver method | activation types (reference kernels) |", "|---|---|---|"]
    for name in sorted(BUILTINS):
        types = ", ".join(sorted(TYPES[name])) if name in TYPES else "as TFLM allows"
        rows.append(f"| `{name}` | `{BUILTINS[name]}` | {types} |")
    for name in sorted(CUSTOMS):
        rows.append(f"| `CUSTOM:{name}` | `{CUSTOMS[name]}` | as TFLM allows |")
    return "\n".join(rows)
