"""NumPy kernels of the MIL operations, as the Core ML ML Program spec defines them.

Every kernel takes the op's resolved inputs (a dict: parameter name -> array, Python value,
or a list for variadic parameters) and returns one array or a tuple of arrays. Kernels
compute in float32, or sum in float64 and round once (conv, linear, matmul, reductions,
normalisations); the interpreter then rounds each
result to the op's declared output type, so a float16 program rounds after every op as
Core ML's fp16 compute does. ``OPS`` is the table of what the interpreter can execute.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from targets.coreml.mil_program import unpack_bits


def _ints(v) -> list[int]:
    return [int(i) for i in np.atleast_1d(np.asarray(v))]


def _axis(v, rank: int) -> int:
    a = int(v)
    return a + rank if a < 0 else a


# ---- padding and windows -------------------------------------------------------------------


def _pads(a: dict, spatial: tuple[int, ...], kernel: list[int], strides: list[int], dilations: list[int],
          ceil_mode: bool = False) -> list[tuple[int, int]]:  # fmt: skip
    """(begin, end) padding per spatial dim for pad_type valid/same/same_lower/custom."""
    pad_type = str(a.get("pad_type", "valid"))
    n = len(spatial)
    if pad_type == "custom":
        p = _ints(a.get("pad", [0] * 2 * n))
        pads = [(p[2 * i], p[2 * i + 1]) for i in range(n)]
    elif pad_type in ("same", "same_lower"):
        pads = []
        for size, k, s, d in zip(spatial, kernel, strides, dilations):
            total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
            small, big = total // 2, total - total // 2
            pads.append((small, big) if pad_type == "same" else (big, small))
    elif pad_type == "valid":
        pads = [(0, 0)] * n
    else:
        raise NotImplementedError(f"pad_type {pad_type}")
    if ceil_mode:  # extend the end so the last partial window is counted
        out = []
        for (b, e), size, k, s in zip(pads, spatial, kernel, strides):
            full = size + b + e - k
            extra = (-full) % s if full % s else 0
            out.append((b, e + extra))
        pads = out
    return pads


def _windows(x: np.ndarray, kernel: list[int], strides: list[int], dilations: list[int]) -> np.ndarray:
    """Sliding windows over the trailing spatial dims: (N, C, *out, *kernel)."""
    n = len(kernel)
    span = [(k - 1) * d + 1 for k, d in zip(kernel, dilations)]
    win = np.lib.stride_tricks.sliding_window_view(x, span, axis=tuple(range(2, 2 + n)))
    index = (slice(None), slice(None)) + tuple(slice(None, None, s) for s in strides) + tuple(slice(None, None, d) for d in dilations)
    return win[index]


def conv(a: dict) -> np.ndarray:
    """Sum over kernel offsets of strided input slices times that offset's weights (memory stays
    the size of the output), accumulated in float64 and rounded once."""
    x, w = np.asarray(a["x"], np.float32), np.asarray(a["weight"], np.float64)
    n = x.ndim - 2
    strides = _ints(a.get("strides", [1] * n))
    dilations = _ints(a.get("dilations", [1] * n))
    groups = int(a.get("groups", 1))
    kernel = list(w.shape[2:])
    pads = _pads(a, x.shape[2:], kernel, strides, dilations)
    xh = np.moveaxis(np.pad(x, [(0, 0), (0, 0), *pads]), 1, -1)  # N, *spatial, C
    out = [(size - (k - 1) * d - 1) // s + 1 for size, k, d, s in zip(xh.shape[1:-1], kernel, dilations, strides)]
    cout, cin_g = w.shape[0], w.shape[1]
    cout_g = cout // groups
    depthwise = groups == xh.shape[-1] and cin_g == 1 and cout == groups
    y = np.zeros((xh.shape[0], *out, cout), np.float64)
    for offset in itertools.product(*(range(k) for k in kernel)):
        patch = xh[(slice(None),) + tuple(slice(o * d, o * d + s * (m - 1) + 1, s)
                                          for o, d, s, m in zip(offset, dilations, strides, out))].astype(np.float64)  # fmt: skip
        wk = w[(slice(None), slice(None)) + offset]  # cout, cin_g
        if depthwise:
            y += patch * wk[:, 0]
            continue
        for g in range(groups):
            y[..., g * cout_g : (g + 1) * cout_g] += patch[..., g * cin_g : (g + 1) * cin_g] @ wk[g * cout_g : (g + 1) * cout_g].T
    if a.get("bias") is not None:
        y += np.asarray(a["bias"], np.float64)
    return np.moveaxis(y, -1, 1).astype(np.float32)


def _pool(a: dict, reduce) -> np.ndarray:
    x = np.asarray(a["x"], np.float32)
    n = x.ndim - 2
    kernel = _ints(a["kernel_sizes"])
    strides = _ints(a.get("strides", [1] * n))
    pads = _pads(a, x.shape[2:], kernel, strides, [1] * n, bool(a.get("ceil_mode", False)))
    return reduce(x, kernel, strides, pads, n)


def max_pool(a: dict) -> np.ndarray:
    def reduce(x, kernel, strides, pads, n):
        x = np.pad(x, [(0, 0), (0, 0), *pads], constant_values=-np.inf)
        return _windows(x, kernel, strides, [1] * n).max(axis=tuple(range(-n, 0)))

    return _pool(a, reduce)


def avg_pool(a: dict) -> np.ndarray:
    exclude = bool(a.get("exclude_padding_from_average", False))

    def reduce(x, kernel, strides, pads, n):
        xp = np.pad(x, [(0, 0), (0, 0), *pads])
        total = _windows(xp, kernel, strides, [1] * n).sum(axis=tuple(range(-n, 0)), dtype=np.float64)
        if exclude:
            ones = np.pad(np.ones((1, 1, *x.shape[2:]), np.float32), [(0, 0), (0, 0), *pads])
            count = _windows(ones, kernel, strides, [1] * n).sum(axis=tuple(range(-n, 0)))
        else:
            count = math.prod(kernel)
        return (total / count).astype(np.float32)

    return _pool(a, reduce)


def l2_pool(a: dict) -> np.ndarray:
    def reduce(x, kernel, strides, pads, n):
        x = np.pad(x.astype(np.float64) ** 2, [(0, 0), (0, 0), *pads])
        return np.sqrt(_windows(x, kernel, strides, [1] * n).sum(axis=tuple(range(-n, 0)))).astype(np.float32)

    return _pool(a, reduce)


# ---- linear algebra ------------------------------------------------------------------------


def linear(a: dict) -> np.ndarray:
    y = np.asarray(a["x"], np.float64) @ np.asarray(a["weight"], np.float64).T  # float64 sums, one rounding
    if a.get("bias") is not None:
        y += np.asarray(a["bias"], np.float64)
    return y.astype(np.float32)


def matmul(a: dict) -> np.ndarray:
    x, y = np.asarray(a["x"], np.float64), np.asarray(a["y"], np.float64)
    if a.get("transpose_x") and x.ndim >= 2:
        x = np.swapaxes(x, -1, -2)
    if a.get("transpose_y") and y.ndim >= 2:
        y = np.swapaxes(y, -1, -2)
    return np.matmul(x, y).astype(np.float32)


def batch_norm(a: dict) -> np.ndarray:
    x = np.asarray(a["x"], np.float32)
    shape = (1, -1) + (1,) * (x.ndim - 2)

    def p(key, default):
        return np.asarray(a[key], np.float32).reshape(shape) if a.get(key) is not None else default

    inv = 1.0 / np.sqrt(p("variance", 1.0) + float(a.get("epsilon", 1e-5)))
    return ((x - p("mean", 0.0)) * inv * p("gamma", 1.0) + p("beta", 0.0)).astype(np.float32)


def layer_norm(a: dict) -> np.ndarray:
    x = np.asarray(a["x"], np.float64)
    axes = tuple(_ints(a["axes"])) if a.get("axes") is not None else tuple(range(x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + float(a.get("epsilon", 1e-5)))
    if a.get("gamma") is not None:
        y = y * np.asarray(a["gamma"], np.float64)
    if a.get("beta") is not None:
        y = y + np.asarray(a["beta"], np.float64)
    return y.astype(np.float32)


# ---- elementwise ---------------------------------------------------------------------------


def _binary(fn):
    return lambda a: fn(np.asarray(a["x"]), np.asarray(a["y"]))


def _unary(fn):
    return lambda a: fn(np.asarray(a["x"], np.float32)).astype(np.float32)


def _sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


def gelu(a: dict) -> np.ndarray:
    x = np.asarray(a["x"], np.float64)
    mode = str(a.get("mode", "EXACT"))
    if mode == "EXACT":
        from math import erf

        y = 0.5 * x * (1.0 + np.vectorize(erf)(x / math.sqrt(2.0)))
    elif mode == "TANH_APPROXIMATION":
        y = 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    else:  # SIGMOID_APPROXIMATION
        y = x * _sigmoid(1.702 * x)
    return y.astype(np.float32)


def softmax(a: dict) -> np.ndarray:
    x = np.asarray(a["x"], np.float64)
    axis = int(a.get("axis", -1))
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype(np.float32)


def _reduce(fn):
    def run(a: dict) -> np.ndarray:
        x = np.asarray(a["x"])
        axes = tuple(_ints(a["axes"])) if a.get("axes") is not None else None
        y = fn(x.astype(np.float64) if x.dtype.kind == "f" else x, axes, bool(a.get("keep_dims", False)))
        return np.asarray(y, np.float32 if x.dtype.kind == "f" else x.dtype)

    return run


def _argreduce(fn):
    def run(a: dict) -> np.ndarray:
        x = np.asarray(a["x"])
        axis = int(a.get("axis", -1))
        y = fn(x, axis=axis)
        return np.expand_dims(y, axis).astype(np.int32) if a.get("keep_dims") else y.astype(np.int32)

    return run


# ---- shapes --------------------------------------------------------------------------------


def reshape(a: dict) -> np.ndarray:
    x = np.asarray(a["x"])
    shape = _ints(a["shape"])
    shape = [x.shape[i] if d == 0 else d for i, d in enumerate(shape)]  # 0 copies the input dim
    return x.reshape(shape)


def transpose(a: dict) -> np.ndarray:
    return np.transpose(np.asarray(a["x"]), _ints(a["perm"]))


def concat(a: dict) -> np.ndarray:
    values = [np.asarray(v) for v in a["values"]]
    axis = _axis(a["axis"], values[0].ndim)
    if a.get("interleave"):
        return np.stack(values, axis=axis + 1).reshape(
            values[0].shape[:axis] + (-1,) + values[0].shape[axis + 1 :])  # fmt: skip
    return np.concatenate(values, axis=axis)


def split(a: dict) -> tuple[np.ndarray, ...]:
    x = np.asarray(a["x"])
    axis = _axis(a["axis"], x.ndim)
    if a.get("split_sizes") is not None:
        cuts = np.cumsum(_ints(a["split_sizes"]))[:-1]
        return tuple(np.split(x, cuts, axis=axis))
    return tuple(np.split(x, int(a["num_splits"]), axis=axis))


def slice_by_index(a: dict) -> np.ndarray:
    x = np.asarray(a["x"])
    r = x.ndim
    begin, end = _ints(a["begin"]), _ints(a["end"])
    stride = _ints(a["stride"]) if a.get("stride") is not None else [1] * r
    bm = [bool(v) for v in np.atleast_1d(a["begin_mask"])] if a.get("begin_mask") is not None else [False] * r
    em = [bool(v) for v in np.atleast_1d(a["end_mask"])] if a.get("end_mask") is not None else [False] * r
    sq = [bool(v) for v in np.atleast_1d(a["squeeze_mask"])] if a.get("squeeze_mask") is not None else [False] * r
    index = []
    for i in range(r):
        if sq[i]:
            index.append(begin[i])
            continue
        index.append(slice(None if bm[i] else begin[i], None if em[i] else end[i], stride[i]))
    return x[tuple(index)]


def slice_by_size(a: dict) -> np.ndarray:
    x = np.asarray(a["x"])
    begin, size = _ints(a["begin"]), _ints(a["size"])
    return x[tuple(slice(b, None if s == -1 else b + s) for b, s in zip(begin, size))]


def squeeze(a: dict) -> np.ndarray:
    x = np.asarray(a["x"])
    return np.squeeze(x, axis=tuple(_ints(a["axes"]))) if a.get("axes") is not None else np.squeeze(x)


def expand_dims(a: dict) -> np.ndarray:
    x = np.asarray(a["x"])
    out_rank = x.ndim + len(_ints(a["axes"]))
    return np.expand_dims(x, tuple(sorted(_axis(i, out_rank) for i in _ints(a["axes"]))))


def pad(a: dict) -> np.ndarray:
    x = np.asarray(a["x"])
    p = _ints(a["pad"])
    widths = [(0, 0)] * (x.ndim - len(p) // 2) + [(p[2 * i], p[2 * i + 1]) for i in range(len(p) // 2)]
    mode = str(a.get("mode", "constant"))
    if mode == "constant":
        return np.pad(x, widths, constant_values=float(a.get("constant_val", 0.0)))
    return np.pad(x, widths, mode={"reflect": "reflect", "replicate": "edge"}[mode])


def tile(a: dict) -> np.ndarray:
    return np.tile(np.asarray(a["x"]), _ints(a["reps"]))


def shape(a: dict) -> np.ndarray:
    return np.asarray(np.asarray(a["x"]).shape, np.int32)


_CAST = {"fp16": np.float16, "fp32": np.float32, "int32": np.int32, "int16": np.int16, "int8": np.int8,
         "uint8": np.uint8, "uint16": np.uint16, "bool": np.bool_, "fp64": np.float64, "int64": np.int64}  # fmt: skip


def cast(a: dict) -> np.ndarray:
    return np.asarray(a["x"]).astype(_CAST[str(a["dtype"])])


# ---- compressed constants (iOS16 constexpr ops) --------------------------------------------


def _promote(v: np.ndarray, rank: int, axis: int | None) -> np.ndarray:
    v = np.asarray(v)
    if v.ndim == 0 or v.ndim == rank:
        return v
    shape = [1] * rank
    shape[axis if axis is not None else 0] = v.size
    return v.reshape(shape)


def constexpr_affine_dequantize(a: dict) -> np.ndarray:
    q = np.asarray(a["quantized_data"])
    axis = int(a.get("axis", 0))
    axis = axis + q.ndim if axis < 0 else axis
    zp = _promote(a["zero_point"], q.ndim, axis).astype(np.float32)
    scale = _promote(a["scale"], q.ndim, axis)
    return ((q.astype(np.float32) - zp) * scale.astype(np.float32)).astype(scale.dtype)


def constexpr_lut_to_dense(a: dict) -> np.ndarray:
    lut = np.asarray(a["lut"])
    if a.get("shape") is None:  # iOS18: typed n-bit indices, one table per block, vectors
        return _lut_blockwise(np.asarray(a["indices"]), lut, a.get("vector_axis"))
    shape = _ints(a["shape"])  # iOS16: one table, indices packed into uint8 bytes
    nbits = int(np.log2(lut.size))
    indices = unpack_bits(np.asarray(a["indices"], np.uint8), nbits, math.prod(shape))
    return lut[indices].reshape(shape)


def _lut_blockwise(indices: np.ndarray, lut: np.ndarray, vector_axis) -> np.ndarray:
    """iOS18 LUT: ``lut`` is [groups per axis..., palette, vector]; each block of ``indices``
    reads its own table; a vector entry fills ``vector_axis`` consecutively."""
    k, vec = indices.ndim, lut.shape[-1]
    axis = None
    if vec > 1:
        axis = int(vector_axis) + (k if int(vector_axis) < 0 else 0)
        indices, lut = np.swapaxes(indices, -1, axis), np.swapaxes(lut, -3, axis)
    block = [s // g for s, g in zip(indices.shape, lut.shape[:k])]
    grid = np.indices(indices.shape, sparse=True)
    out = lut[tuple(grid[i] // block[i] for i in range(k)) + (indices.astype(np.intp),)]  # indices.shape + (vec,)
    out = out.reshape(indices.shape[:-1] + (indices.shape[-1] * vec,))
    return np.swapaxes(out, -1, axis) if axis is not None else out


def constexpr_sparse_to_dense(a: dict) -> np.ndarray:
    data = np.asarray(a["nonzero_data"])
    if a.get("shape") is None:  # iOS18: the mask is a uint1 tensor of the output shape
        mask = np.asarray(a["mask"])
        out = np.zeros(mask.shape, data.dtype)
        out[mask != 0] = data
        return out
    shape = _ints(a["shape"])  # iOS16: the mask is packed into uint8 bytes
    flat = np.zeros(math.prod(shape), data.dtype)
    bits = np.unpackbits(np.asarray(a["mask"], np.uint8), bitorder="little")[: flat.size]
    flat[np.flatnonzero(bits)] = data
    return flat.reshape(shape)


def constexpr_blockwise_shift_scale(a: dict) -> np.ndarray:
    """iOS18 block-wise dequantization: ``scale * (data - offset)``, one scale per block."""
    scale = np.asarray(a["scale"])
    data = np.asarray(a["data"]).astype(np.float32)
    offset = np.asarray(a["offset"]).astype(np.float32) if a.get("offset") is not None else None
    for axis, (d, s) in enumerate(zip(data.shape, scale.shape)):
        if d // s > 1:
            scale = np.repeat(scale, d // s, axis)
            offset = np.repeat(offset, d // s, axis) if offset is not None else None
    if offset is not None:
        data = data - offset
    return (scale.astype(np.float32) * data).astype(scale.dtype)


def constexpr_cast(a: dict) -> np.ndarray:
    return np.asarray(a["source_val"]).astype(_CAST[str(a["output_dtype"])])


def classify(a: dict):
    """Classifier head: the interpreter reports the probabilities (classLabel is their argmax)."""
    probs = np.asarray(a["probabilities"], np.float32)
    classes = a["classes"]
    return np.asarray([classes[int(np.argmax(probs.reshape(-1)))]], dtype=object), probs


# ---- result sizes, known before anything is allocated -------------------------------------

MAX_ELEMENTS = 2**28  # of one op result: 1 GiB of float32 (float64 accumulators: 2 GiB)


def _size(v) -> int:
    return int(np.asarray(v).size) if v is not None else 0


def _padded(a: dict, x) -> int:
    """Elements of ``x`` with a spatial padding (``pad``/``pad_type``) added, an upper bound."""
    shape = np.shape(x)
    p = [abs(v) for v in _ints(a["pad"])] if a.get("pad") is not None else []
    extra = [0] * (len(shape) - len(p) // 2) + [p[2 * i] + p[2 * i + 1] for i in range(len(p) // 2)]
    return math.prod(d + e for d, e in zip(shape, extra))


def _matmul_elements(a: dict) -> int:
    x, y = np.shape(a["x"]), np.shape(a["y"])
    if len(x) < 2 or len(y) < 2:
        return max(math.prod(x), math.prod(y))
    n = x[-1] if a.get("transpose_x") else x[-2]
    m = y[-2] if a.get("transpose_y") else y[-1]
    return math.prod(np.broadcast_shapes(x[:-2], y[:-2])) * n * m


_RESULT_ELEMENTS = {
    "tile": lambda a: _size(a["x"]) * math.prod(abs(r) for r in _ints(a["reps"])),
    "pad": lambda a: _padded(a, a["x"]),
    "conv": lambda a: max(_padded(a, a["x"]), _padded(a, a["x"]) // max(np.shape(a["x"])[1], 1) * np.shape(a["weight"])[0]),
    "max_pool": lambda a: _padded(a, a["x"]), "avg_pool": lambda a: _padded(a, a["x"]), "l2_pool": lambda a: _padded(a, a["x"]),
    "matmul": _matmul_elements,
    "linear": lambda a: _size(a["x"]) // max(np.shape(a["x"])[-1], 1) * np.shape(a["weight"])[0],
    "constexpr_lut_to_dense": lambda a: math.prod(_ints(a["shape"])) if a.get("shape") is not None
                                        else _size(a["indices"]) * np.shape(a["lut"])[-1],
    "constexpr_sparse_to_dense": lambda a: math.prod(_ints(a["shape"])) if a.get("shape") is not None else _size(a["mask"]),
    "constexpr_blockwise_shift_scale": lambda a: _size(a["data"]),
}  # fmt: skip
for _name in ("add", "sub", "mul", "real_div", "maximum", "minimum", "pow", "floor_div"):
    _RESULT_ELEMENTS[_name] = lambda a: math.prod(np.broadcast_shapes(np.shape(a["x"]), np.shape(a["y"])))


def result_elements(op_type: str, a: dict) -> int:
    """An upper bound of the elements op ``op_type`` makes from inputs ``a``, from shapes only.

    Only ops that can make more than they are given are listed; the others return 0."""
    size = _RESULT_ELEMENTS.get(op_type)
    return int(size(a)) if size is not None else 0


OPS = {
    "conv": conv, "max_pool": max_pool, "avg_pool": avg_pool, "l2_pool": l2_pool,
    "linear": linear, "matmul": matmul, "batch_norm": batch_norm, "layer_norm": layer_norm,
    "add": _binary(np.add), "sub": _binary(np.subtract), "mul": _binary(np.multiply),
    "real_div": _binary(np.divide), "maximum": _binary(np.maximum), "minimum": _binary(np.minimum),
    "pow": _binary(np.power), "floor_div": _binary(np.floor_divide),
    "relu": _unary(lambda x: np.maximum(x, 0)), "relu6": _unary(lambda x: np.clip(x, 0, 6)),
    "sigmoid": _unary(_sigmoid), "tanh": _unary(np.tanh), "silu": _unary(lambda x: x * _sigmoid(x)),
    "exp": _unary(np.exp), "log": _unary(np.log), "sqrt": _unary(np.sqrt), "rsqrt": lambda a: (1.0 / np.sqrt(np.asarray(a["x"], np.float32) + float(a.get("epsilon", 1e-12)))).astype(np.float32),
    "abs": _unary(np.abs), "square": _unary(np.square), "floor": _unary(np.floor), "ceil": _unary(np.ceil),
    "leaky_relu": lambda a: np.where(np.asarray(a["x"]) >= 0, a["x"], float(a.get("alpha", 0.01)) * np.asarray(a["x"], np.float32)).astype(np.float32),
    "clip": lambda a: np.clip(np.asarray(a["x"], np.float32), float(a["alpha"]), float(a["beta"])),
    # min(max(alpha * x + beta, 0), 1) (PyTorch's hardsigmoid/hardswish convert to it) and
    # x where x >= alpha else 0 (PyTorch's Hardswish).
    "sigmoid_hard": lambda a: np.clip(float(a["alpha"]) * np.asarray(a["x"], np.float32) + float(a["beta"]), 0, 1).astype(np.float32),
    "thresholded_relu": lambda a: np.where(np.asarray(a["x"]) >= float(a["alpha"]), a["x"], 0).astype(np.float32),
    "gelu": gelu, "softmax": softmax,
    "reduce_mean": _reduce(lambda x, ax, k: x.mean(axis=ax, keepdims=k)),
    "reduce_sum": _reduce(lambda x, ax, k: x.sum(axis=ax, keepdims=k)),
    "reduce_max": _reduce(lambda x, ax, k: x.max(axis=ax, keepdims=k)),
    "reduce_min": _reduce(lambda x, ax, k: x.min(axis=ax, keepdims=k)),
    "reduce_prod": _reduce(lambda x, ax, k: x.prod(axis=ax, keepdims=k)),
    "reduce_l2_norm": _reduce(lambda x, ax, k: np.sqrt((x * x).sum(axis=ax, keepdims=k))),
    "reduce_argmax": _argreduce(np.argmax), "reduce_argmin": _argreduce(np.argmin),
    "reshape": reshape, "transpose": transpose, "concat": concat, "split": split,
    "slice_by_index": slice_by_index, "slice_by_size": slice_by_size, "squeeze": squeeze,
    "expand_dims": expand_dims, "pad": pad, "tile": tile, "shape": shape, "cast": cast,
    "identity": lambda a: np.asarray(a["x"]),
    "constexpr_affine_dequantize": constexpr_affine_dequantize, "constexpr_lut_to_dense": constexpr_lut_to_dense,
    "constexpr_sparse_to_dense": constexpr_sparse_to_dense, "constexpr_cast": constexpr_cast,
    "constexpr_blockwise_shift_scale": constexpr_blockwise_shift_scale,
    "classify": classify,
}  # fmt: skip
