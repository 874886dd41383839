"""Every MIL op kernel, run from a saved one-op ML Program, against a NumPy/TensorFlow reference."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.targets.coreml.mil_build import run_program

mb = pytest.importorskip("coremltools.converters.mil").Builder
RNG = np.random.default_rng(0)


def rand(*shape, lo=-1.0, hi=1.0):
    return RNG.uniform(lo, hi, shape).astype(np.float32)


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return tmp_path_factory.mktemp("mil_ops")


def close(a, b, tol=1e-5):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def tf_conv(x, w, strides, padding, dilations, groups):
    """NCHW/OIHW conv with TensorFlow (NHWC), one TF conv per group."""
    import tensorflow as tf

    xh = np.transpose(x, (0, 2, 3, 1))
    cin_g, cout_g = w.shape[1], w.shape[0] // groups
    parts = []
    for g in range(groups):
        k = np.transpose(w[g * cout_g : (g + 1) * cout_g], (2, 3, 1, 0))
        parts.append(tf.nn.conv2d(xh[..., g * cin_g : (g + 1) * cin_g], k, strides, padding, dilations=dilations).numpy())
    return np.transpose(np.concatenate(parts, axis=-1), (0, 3, 1, 2))


@pytest.mark.parametrize(
    "pad_type,strides,dilations,groups",
    [("valid", 1, 1, 1), ("same", 2, 1, 1), ("same", 1, 2, 1), ("valid", 2, 1, 2), ("same", 1, 1, 4)],
)
def test_conv(out, pad_type, strides, dilations, groups):
    x, w, b = rand(2, 4, 9, 9), rand(8, 4 // groups, 3, 3), rand(8)

    def f(x):
        return mb.conv(x=x, weight=w, bias=b, pad_type=pad_type, strides=[strides] * 2, dilations=[dilations] * 2, groups=groups)

    ref = tf_conv(x, w, strides, pad_type.upper(), dilations, groups) + b.reshape(1, -1, 1, 1)
    close(run_program(f, x, out_dir=out)[0], ref)


def test_conv_custom_pad_and_depthwise(out):
    x, w = rand(1, 3, 6, 7), rand(3, 1, 3, 3)

    def f(x):
        return mb.conv(x=x, weight=w, pad_type="custom", pad=[1, 0, 2, 1], groups=3)

    xp = np.pad(x, [(0, 0), (0, 0), (1, 0), (2, 1)])
    close(run_program(f, x, out_dir=out)[0], tf_conv(xp, w, 1, "VALID", 1, 3))


@pytest.mark.parametrize("pad_type", ["valid", "same"])
def test_max_pool_and_avg_pool(out, pad_type):
    import tensorflow as tf

    x = rand(1, 3, 7, 7)

    def f(x):
        return (mb.max_pool(x=x, kernel_sizes=[3, 3], strides=[2, 2], pad_type=pad_type),
                mb.avg_pool(x=x, kernel_sizes=[3, 3], strides=[2, 2], pad_type=pad_type, exclude_padding_from_average=True))  # fmt: skip

    xh = np.transpose(x, (0, 2, 3, 1))
    mx, av = run_program(f, x, out_dir=out)
    close(mx, np.transpose(tf.nn.max_pool2d(xh, 3, 2, pad_type.upper()).numpy(), (0, 3, 1, 2)))
    close(av, np.transpose(tf.nn.avg_pool2d(xh, 3, 2, pad_type.upper()).numpy(), (0, 3, 1, 2)))


def test_avg_pool_counts_padding_unless_excluded(out):
    x = np.ones((1, 1, 2, 2), np.float32)

    def f(x):
        return mb.avg_pool(x=x, kernel_sizes=[2, 2], strides=[1, 1], pad_type="custom", pad=[1, 0, 1, 0])

    close(run_program(f, x, out_dir=out)[0], [[[[0.25, 0.5], [0.5, 1.0]]]])


def test_l2_pool(out):
    x = rand(1, 2, 4, 4)

    def f(x):
        return mb.l2_pool(x=x, kernel_sizes=[2, 2], strides=[2, 2], pad_type="valid")

    ref = np.sqrt((x.reshape(1, 2, 2, 2, 2, 2) ** 2).sum(axis=(3, 5)))
    close(run_program(f, x, out_dir=out)[0], ref)


def test_linear_and_matmul(out):
    x, w, b, y = rand(2, 5), rand(3, 5), rand(3), rand(3, 5)

    def f(x):
        return mb.linear(x=x, weight=w, bias=b), mb.matmul(x=x, y=y, transpose_y=True), mb.matmul(x=y, y=x, transpose_x=False, transpose_y=True)

    lin, mm, mm2 = run_program(f, x, out_dir=out)
    close(lin, x @ w.T + b)
    close(mm, x @ y.T)
    close(mm2, y @ x.T)


@pytest.mark.parametrize("op,ref", [("add", np.add), ("sub", np.subtract), ("mul", np.multiply), ("real_div", np.divide),
                                    ("maximum", np.maximum), ("minimum", np.minimum), ("pow", np.power)])  # fmt: skip
def test_binary_broadcasting(out, op, ref):
    x, y = rand(2, 3, 4, lo=0.5, hi=2.0), rand(3, 1, lo=0.5, hi=2.0)

    def f(x, y):
        return getattr(mb, op)(x=x, y=y)

    close(run_program(f, x, y, out_dir=out)[0], ref(x, y))


def _gelu_exact(x):
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


UNARY = {
    "relu": lambda x: np.maximum(x, 0), "relu6": lambda x: np.clip(x, 0, 6), "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "tanh": np.tanh, "silu": lambda x: x / (1 + np.exp(-x)), "exp": np.exp, "abs": np.abs, "square": np.square,
    "floor": np.floor, "ceil": np.ceil,
}  # fmt: skip


@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary(out, op):
    x = rand(2, 9, lo=-8, hi=8)

    def f(x):
        return getattr(mb, op)(x=x)

    close(run_program(f, x, out_dir=out)[0], UNARY[op](x))


def test_log_sqrt_rsqrt(out):
    x = rand(7, lo=0.1, hi=4)

    def f(x):
        return mb.log(x=x), mb.sqrt(x=x), mb.rsqrt(x=x, epsilon=1e-3)

    log, sqrt, rsqrt = run_program(f, x, out_dir=out)
    close(log, np.log(x))
    close(sqrt, np.sqrt(x))
    close(rsqrt, 1 / np.sqrt(x + 1e-3))


@pytest.mark.parametrize("mode", ["EXACT", "TANH_APPROXIMATION", "SIGMOID_APPROXIMATION"])
def test_gelu(out, mode):
    import tensorflow as tf

    x = rand(3, 5, lo=-4, hi=4)

    def f(x):
        return mb.gelu(x=x, mode=mode)

    ref = {"EXACT": _gelu_exact(x), "TANH_APPROXIMATION": tf.nn.gelu(x, approximate=True).numpy(),
           "SIGMOID_APPROXIMATION": x / (1 + np.exp(-1.702 * x))}[mode]  # fmt: skip
    close(run_program(f, x, out_dir=out)[0], ref)


def test_softmax_leaky_relu_clip(out):
    import tensorflow as tf

    x = rand(2, 3, 4, lo=-5, hi=5)

    def f(x):
        return mb.softmax(x=x, axis=1), mb.leaky_relu(x=x, alpha=0.2), mb.clip(x=x, alpha=-1.0, beta=2.0)

    sm, lr, cl = run_program(f, x, out_dir=out)
    close(sm, tf.nn.softmax(x, axis=1).numpy())
    close(lr, np.where(x >= 0, x, 0.2 * x))
    close(cl, np.clip(x, -1, 2))


def test_sigmoid_hard_and_thresholded_relu(out):
    """The ops coremltools makes of PyTorch's Hardsigmoid/Hardswish (MobileNetV3)."""
    x = rand(2, 3, 4, lo=-5, hi=5)
    x[0, 0, :2] = [1.0, -2.5]  # on the threshold / where alpha * x + beta is exactly 0

    def f(x):
        return mb.sigmoid_hard(x=x, alpha=0.2, beta=0.5), mb.thresholded_relu(x=x, alpha=1.0)

    hs, tr = run_program(f, x, out_dir=out)
    close(hs, np.minimum(np.maximum(0.2 * x + 0.5, 0), 1))
    close(tr, np.where(x >= 1.0, x, 0))


@pytest.mark.parametrize("op,ref", [("reduce_mean", np.mean), ("reduce_sum", np.sum), ("reduce_max", np.max),
                                    ("reduce_min", np.min), ("reduce_prod", np.prod),
                                    ("reduce_l2_norm", lambda x, axis, keepdims: np.sqrt((x * x).sum(axis=axis, keepdims=keepdims)))])  # fmt: skip
@pytest.mark.parametrize("keep", [True, False])
def test_reduce(out, op, ref, keep):
    x = rand(2, 3, 4, 5, lo=0.5, hi=1.5)

    def f(x):
        return getattr(mb, op)(x=x, axes=[2, 3], keep_dims=keep)

    close(run_program(f, x, out_dir=out)[0], ref(x, axis=(2, 3), keepdims=keep))


def test_reduce_argmax_argmin(out):
    x = rand(3, 6)

    def f(x):
        return mb.reduce_argmax(x=x, axis=1), mb.reduce_argmin(x=x, axis=0, keep_dims=True)

    amax, amin = run_program(f, x, out_dir=out)
    assert (amax == x.argmax(1)).all() and (amin == x.argmin(0)[None]).all()


def test_reshape_transpose_squeeze_expand_dims_tile(out):
    x = rand(1, 2, 3, 4)

    def f(x):
        return (mb.reshape(x=x, shape=[1, 6, 4]), mb.transpose(x=x, perm=[0, 2, 3, 1]), mb.squeeze(x=x, axes=[0]),
                mb.expand_dims(x=x, axes=[-1]), mb.tile(x=x, reps=[1, 1, 2, 1]))  # fmt: skip

    r, t, s, e, ti = run_program(f, x, out_dir=out)
    close(r, x.reshape(1, 6, 4))
    close(t, x.transpose(0, 2, 3, 1))
    close(s, x[0])
    close(e, x[..., None])
    close(ti, np.tile(x, (1, 1, 2, 1)))


def test_concat_and_interleave(out):
    x, y = rand(1, 2, 3), rand(1, 2, 3)

    def f(x, y):
        return mb.concat(values=[x, y], axis=1), mb.concat(values=[x, y], axis=-1, interleave=True)

    c, i = run_program(f, x, y, out_dir=out)
    close(c, np.concatenate([x, y], axis=1))
    close(i, np.stack([x, y], axis=-1).reshape(1, 2, 6))


def test_split(out):
    x = rand(2, 6)

    def f(x):
        a, b, c = mb.split(x=x, num_splits=3, axis=1)
        d, e = mb.split(x=x, split_sizes=[1, 5], axis=-1)
        return a, b, c, d, e

    parts = run_program(f, x, out_dir=out)
    for got, ref in zip(parts, [*np.split(x, 3, axis=1), x[:, :1], x[:, 1:]]):
        close(got, ref)


def test_slice_by_index_and_size(out):
    x = rand(4, 5, 6)

    def f(x):
        return (mb.slice_by_index(x=x, begin=[1, 0, 1], end=[3, 5, 6], stride=[1, 2, 2]),
                mb.slice_by_index(x=x, begin=[2, 0, 0], end=[3, 0, 4], begin_mask=[False, True, True],
                                  end_mask=[False, True, False], squeeze_mask=[True, False, False]),
                mb.slice_by_size(x=x, begin=[1, 1, 0], size=[2, -1, 3]))  # fmt: skip

    a, b, c = run_program(f, x, out_dir=out)
    close(a, x[1:3, 0:5:2, 1:6:2])
    close(b, x[2, :, :4])
    close(c, x[1:3, 1:, 0:3])


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate"])
def test_pad(out, mode):
    x = rand(1, 2, 4, 4)

    def f(x):
        return mb.pad(x=x, pad=[1, 2, 2, 1], mode=mode, constant_val=0.5)

    ref = np.pad(x, [(0, 0), (0, 0), (1, 2), (2, 1)], **({"constant_values": 0.5} if mode == "constant" else
                                                         {"mode": {"reflect": "reflect", "replicate": "edge"}[mode]}))  # fmt: skip
    close(run_program(f, x, out_dir=out)[0], ref)


def test_batch_norm_and_layer_norm(out):
    x = rand(2, 3, 4, 4)
    mean, var, gamma, beta = rand(3), rand(3, lo=0.5, hi=2), rand(3), rand(3)
    g2, b2 = rand(4, 4), rand(4, 4)

    def f(x):
        return (mb.batch_norm(x=x, mean=mean, variance=var, gamma=gamma, beta=beta, epsilon=1e-3),
                mb.layer_norm(x=x, axes=[2, 3], gamma=g2, beta=b2, epsilon=1e-5))  # fmt: skip

    bn, ln = run_program(f, x, out_dir=out)
    s = (1, 3, 1, 1)
    close(bn, (x - mean.reshape(s)) / np.sqrt(var.reshape(s) + 1e-3) * gamma.reshape(s) + beta.reshape(s))
    m = x.mean(axis=(2, 3), keepdims=True)
    v = x.var(axis=(2, 3), keepdims=True)
    close(ln, (x - m) / np.sqrt(v + 1e-5) * g2 + b2, tol=1e-4)


def test_cast_rounds_to_fp16(out):
    x = np.float32([1.0001, 3.14159265, 65504.0, 1e-8])

    def f(x):
        return mb.cast(x=mb.cast(x=x, dtype="fp16"), dtype="fp32")

    got = run_program(f, x, out_dir=out)[0]
    assert got.dtype == np.float32 and (got == x.astype(np.float16).astype(np.float32)).all()


def test_constexpr_affine_dequantize(out):
    from coremltools.optimize import _utils as ref_utils

    q = RNG.integers(-128, 127, (4, 3), dtype=np.int8)
    zp, scale = np.int8([1, -2, 0, 3]), np.float32([0.5, 0.25, 2.0, 1.0])

    def f(x):
        w = mb.constexpr_affine_dequantize(quantized_data=q, zero_point=zp, scale=scale, axis=0)
        return mb.add(x=x, y=w)

    got = run_program(f, np.zeros((4, 3), np.float32), out_dir=out)[0]
    close(got, ref_utils.dequantize_by_scale_and_zp(q, scale, zp, 0))


@pytest.mark.parametrize("nbits", [1, 2, 4, 6, 8])
def test_constexpr_lut_to_dense(out, nbits):
    from coremltools.optimize import _utils as ref_utils

    lut = rand(2**nbits)
    idx = RNG.integers(0, 2**nbits, 35).astype(np.uint8)
    packed = ref_utils.pack_elements_into_bits(idx, nbits)

    def f(x):
        return mb.add(x=x, y=mb.constexpr_lut_to_dense(lut=lut, indices=packed, shape=np.uint32([5, 7])))

    close(run_program(f, np.zeros((5, 7), np.float32), out_dir=out)[0], lut[idx].reshape(5, 7))


def test_constexpr_sparse_to_dense(out):
    dense = rand(6, 5) * (RNG.random((6, 5)) > 0.6)
    mask = np.packbits((dense != 0).reshape(-1), bitorder="little")

    def f(x):
        w = mb.constexpr_sparse_to_dense(nonzero_data=dense[dense != 0], mask=mask, shape=np.uint32([6, 5]))
        return mb.add(x=x, y=w)

    close(run_program(f, np.zeros((6, 5), np.float32), out_dir=out)[0], dense)


def test_fp16_program_rounds_every_op(out):
    """Under fp16 compute, each op's result is rounded to fp16 (not only the final output)."""
    x = np.float32([[1.0, 2049.0, 0.1]])

    def f(x):
        return mb.sub(x=mb.add(x=x, y=np.float32(1.0)), y=np.float32(1.0))

    got = run_program(f, x, out_dir=out, precision="float16", passes=True)[0]
    h = np.float16
    ref = ((x.astype(h) + h(1)).astype(h) - h(1)).astype(np.float32)
    assert (got.astype(np.float32) == ref).all() and ref[0, 1] != x[0, 1]  # 2049 + 1 rounds to 2050 in fp16


def test_floor_div_identity_shape_constexpr_cast(out):
    x = rand(2, 3, lo=-5, hi=5)
    half = np.float16([[0.5, 1.5, -2.25]])

    def f(x):
        w = mb.constexpr_cast(source_val=half, output_dtype="fp32")
        return mb.floor_div(x=x, y=np.float32(2.0)), mb.identity(x=x), mb.shape(x=x), mb.add(x=x, y=w)

    fd, ident, shp, added = run_program(f, x, out_dir=out)
    close(fd, np.floor_divide(x, 2.0))
    close(ident, x)
    assert list(shp) == [2, 3]
    close(added, x + half.astype(np.float32))


# ---- iOS18 forms of the compressed-weight ops (--coreml-target iOS18) ------------------------


def test_ios18_blockwise_shift_scale(out):
    data = RNG.integers(-8, 8, (4, 6)).astype(np.int8)
    scale = rand(4, 2, lo=0.1, hi=1.0)  # blocks of 3 along the last axis
    offset = RNG.integers(-2, 2, (4, 2)).astype(np.int8)

    def f(x):
        return mb.add(x=x, y=mb.constexpr_blockwise_shift_scale(data=data, scale=scale, offset=offset))

    ref = np.repeat(scale, 3, axis=1) * (data - np.repeat(offset, 3, axis=1))
    close(run_program(f, np.zeros((4, 6), np.float32), out_dir=out, opset="iOS18")[0], ref)


@pytest.mark.parametrize("vector", [1, 2])
def test_ios18_lut_to_dense_per_group_and_vector(out, vector):
    from coremltools.converters.mil.mil import types
    from coremltools.optimize import _utils as ref_utils

    indices = RNG.integers(0, 4, (4, 6 // vector)).astype(types.np_uint2_dtype)
    lut = rand(2, 1, 4, vector)  # two groups of rows, 2-bit palette, vectors of `vector`

    def f(x):
        w = mb.constexpr_lut_to_dense(indices=indices, lut=lut, vector_axis=1 if vector > 1 else None)
        return mb.add(x=x, y=w)

    ref = ref_utils.lut_to_dense(indices.astype(np.uint8), lut, 1 if vector > 1 else None)
    close(run_program(f, np.zeros((4, 6), np.float32), out_dir=out, opset="iOS18")[0], ref)


def test_ios18_sparse_to_dense(out):
    from coremltools.converters.mil.mil import types

    dense = rand(5, 4) * (RNG.random((5, 4)) > 0.5)
    mask = (dense != 0).astype(types.np_uint1_dtype)

    def f(x):
        return mb.add(x=x, y=mb.constexpr_sparse_to_dense(nonzero_data=dense[dense != 0], mask=mask))

    close(run_program(f, np.zeros((5, 4), np.float32), out_dir=out, opset="iOS18")[0], dense)


def test_result_sizes_come_from_shapes_alone():
    from targets.coreml.mil_ops import result_elements

    col, row = np.zeros((50_000, 1), np.float32), np.zeros((1, 60_000), np.float32)
    assert result_elements("add", {"x": col, "y": row}) == 3_000_000_000  # never computed
    assert result_elements("matmul", {"x": np.zeros((4, 8, 3)), "y": np.zeros((1, 3, 5))}) == 4 * 8 * 5
    assert result_elements("pad", {"x": np.zeros((1, 2, 4, 4)), "pad": [1, 1, 2, 2]}) == 2 * 6 * 8
    assert result_elements("relu", {"x": col}) == 0  # no larger than its input
