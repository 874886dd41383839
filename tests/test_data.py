import tracemalloc

import numpy as np
import pytest

from edgekit.data import Dataset, Preprocess
from edgekit.errors import DataError, OptionError
from edgekit.model import TensorInfo

IMG = (TensorInfo("img", (1, 8, 8, 1), "float32"),)


def test_npz_streams_in_batches(tmp_path):
    x = np.arange(50 * 64, dtype=np.float32).reshape(50, 8, 8, 1)
    np.savez_compressed(tmp_path / "d.npz", x=x, y=np.arange(50))
    ds = Dataset.open(tmp_path / "d.npz", IMG)
    assert len(ds) == 50 and ds.has_labels
    batches = list(ds.batches(16))
    assert [len(b.inputs[0]) for b in batches] == [16, 16, 16, 2]
    assert np.array_equal(np.concatenate([b.inputs[0] for b in batches]), x)
    assert np.array_equal(np.concatenate([b.labels for b in batches]), np.arange(50))
    assert len(ds.take(7)) == 7 and ds.take(7)[6][0].shape == (1, 8, 8, 1)


def test_large_npz_is_never_loaded_whole(tmp_path):
    x = np.zeros((20000, 8, 8, 1), np.float32)  # 5 MB
    np.savez(tmp_path / "big.npz", x=x)
    ds = Dataset.open(tmp_path / "big.npz", IMG)
    tracemalloc.start()
    n = sum(len(b.inputs[0]) for b in ds.batches(100))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert n == 20000
    assert peak < 1_000_000, f"peak {peak} bytes while streaming a {x.nbytes} byte array"


def test_npy_and_unit_dims(tmp_path):
    np.save(tmp_path / "d.npy", np.ones((3, 8, 8), np.float64))  # no channel axis
    ds = Dataset.open(tmp_path / "d.npy", IMG)
    (b,) = list(ds.batches())
    assert b.inputs[0].shape == (3, 8, 8, 1) and b.inputs[0].dtype == np.float32 and b.labels is None


def test_preprocess(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.full((2, 8, 8, 1), 255, np.uint8))
    ds = Dataset.open(tmp_path / "d.npz", IMG, Preprocess(scale=1 / 255, mean=(0.5,), std=(0.5,)))
    (b,) = list(ds.batches())
    assert np.allclose(b.inputs[0], 1.0)


def test_multi_input_named_keys(tmp_path):
    inputs = (TensorInfo("a", (1, 4), "float32"), TensorInfo("b", (1, 2), "float32"))
    np.savez(tmp_path / "d.npz", a=np.ones((5, 4)), b=np.zeros((5, 2)), y=np.ones(5))
    ds = Dataset.open(tmp_path / "d.npz", inputs)
    (b,) = list(ds.batches())
    assert [x.shape for x in b.inputs] == [(5, 4), (5, 2)]
    np.savez(tmp_path / "bad.npz", x=np.ones((5, 4)))
    with pytest.raises(DataError, match="one per input: 'a', 'b'"):
        Dataset.open(tmp_path / "bad.npz", inputs)


def test_image_directory_with_classes(tmp_path):
    from PIL import Image

    for cls, value in (("cat", 10), ("dog", 200)):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.fromarray(np.full((20, 30, 3), value, np.uint8)).save(tmp_path / cls / f"{i}.png")
    ds = Dataset.open(tmp_path, IMG, Preprocess(scale=1 / 255))
    assert len(ds) == 6 and ds.has_labels
    (b,) = list(ds.batches())
    assert b.inputs[0].shape == (6, 8, 8, 1)
    assert list(b.labels) == [0, 0, 0, 1, 1, 1]
    assert np.allclose(b.inputs[0][-1], 200 / 255, atol=1e-3)


def test_broken_image(tmp_path):
    (tmp_path / "a.png").write_bytes(b"not an image")
    ds = Dataset.open(tmp_path, IMG)
    with pytest.raises(DataError, match="a.png: not a readable image"):
        list(ds.batches())


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: np.savez(p, x=np.ones((4, 9, 9, 1))), r"shape \(9, 9, 1\).*needs \(8, 8, 1\)"),
        (lambda p: np.savez(p, x=np.ones((4, 8, 8, 1)), y=np.ones(3)), "3 labels for 4 samples"),
        (lambda p: np.savez(p, x=np.zeros((0, 8, 8, 1))), "empty"),
        (lambda p: np.savez(p, x=np.array(["a"] * 4)), "not numeric"),
        (lambda p: p.write_bytes(b"PK\x03\x04garbage"), "not a readable .npz"),
        (lambda p: np.savez(p, z=np.ones((2, 8, 8, 1)), w=np.ones((2, 8, 8, 1))), "do not name the model inputs"),
    ],
)
def test_bad_data(tmp_path, make, message):
    p = tmp_path / "d.npz"
    make(p)
    with pytest.raises(DataError, match=message):
        Dataset.open(p, IMG)


def test_nan_is_named(tmp_path):
    x = np.ones((10, 8, 8, 1), np.float32)
    x[7, 3, 3, 0] = np.nan
    np.savez(tmp_path / "d.npz", x=x)
    ds = Dataset.open(tmp_path / "d.npz", IMG)
    with pytest.raises(DataError, match="sample 7 contains NaN"):
        list(ds.batches(4))


def test_truncated_npy(tmp_path):
    np.save(tmp_path / "d.npy", np.ones((100, 8, 8, 1), np.float32))
    data = (tmp_path / "d.npy").read_bytes()
    (tmp_path / "d.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="truncated"):  # seen at open: the header promises more bytes
        Dataset.open(tmp_path / "d.npy", IMG)


def test_random_dataset_is_seeded():
    a = Dataset.random(IMG, 5).take(5)
    b = Dataset.random(IMG, 5).take(5)
    assert all(np.array_equal(x[0], y[0]) for x, y in zip(a, b))
    assert Dataset.random(IMG, 5).random


def test_missing_and_unknown(tmp_path):
    with pytest.raises(DataError, match="--eval .*no such file"):
        Dataset.open(tmp_path / "nope.npz", IMG, option="--eval")
    (tmp_path / "d.csv").write_text("1,2")
    with pytest.raises(DataError, match="unknown data format"):
        Dataset.open(tmp_path / "d.csv", IMG)


def test_per_channel_mean_must_match_the_model_channels(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.ones((2, 8, 8, 1), np.float32))
    with pytest.raises(OptionError, match=r"--mean 0.5,0.5,0.5: 3 values, but model input 'img' \(1, 8, 8, 1\) has 1"):
        Dataset.open(tmp_path / "d.npz", IMG, Preprocess(mean=(0.5, 0.5, 0.5)))
    assert len(Dataset.open(tmp_path / "d.npz", IMG, Preprocess(mean=(0.5,), std=(2.0,)))) == 2


@pytest.mark.parametrize("pre", [{"std": (0.0,)}, {"std": (1.0, 0.0, 1.0)}, {"mean": (float("nan"),)}])
def test_std_zero_and_non_finite_preprocessing_refused(pre):
    with pytest.raises(OptionError, match="--std .*divides by zero|--mean nan: give finite numbers"):
        Preprocess(**pre)


def _npy_claiming(path, shape, fortran=False):
    """A valid small .npy whose header claims ``shape`` (the data stays 4 floats)."""
    import struct

    header = repr({"descr": "<f4", "fortran_order": fortran, "shape": shape}).encode()
    header += b" " * (118 - len(header)) + b"\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + np.zeros(4, "<f4").tobytes())
    return path


@pytest.mark.parametrize("fortran", [False, True])
def test_npy_header_bigger_than_the_file_refused_before_allocating(tmp_path, fortran):
    path = _npy_claiming(tmp_path / "huge.npy", (2**40, 8, 8, 1), fortran)  # 256 TiB of float32
    with pytest.raises(DataError, match=r"declares shape \(1099511627776, 8, 8, 1\) .* holds 16"):
        Dataset.open(path, IMG)


def test_npz_member_declaring_an_impossible_size_refused(tmp_path):
    import zipfile

    np.savez(tmp_path / "d.npz", x=np.zeros((4, 8, 8, 1), np.float32))
    data = bytearray((tmp_path / "d.npz").read_bytes())
    with zipfile.ZipFile(tmp_path / "d.npz") as z:
        info = z.getinfo("x.npy")
    # Rewrite the central directory's uncompressed size (stored member: must equal compressed).
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = (info.file_size * 10).to_bytes(4, "little")
    (tmp_path / "d.npz").write_bytes(bytes(data))
    with pytest.raises(DataError, match="declares .* bytes from .* compressed"):
        Dataset.open(tmp_path / "d.npz", IMG)


def test_labels_read_is_bounded(tmp_path):
    from edgekit.data import read_labels

    with open(tmp_path / "labels.txt", "wb") as f:
        f.truncate(64 << 20)  # sparse 64 MiB: never read
    with pytest.raises(DataError, match="--labels .*labels.txt: 67,108,864 bytes, more than"):
        read_labels(tmp_path / "labels.txt")


def test_nchw_inputs_take_per_channel_values_and_images_on_axis_1(tmp_path):
    from PIL import Image

    nchw = (TensorInfo("img", (1, 3, 4, 4), "float32", layout="NCHW"),)
    np.savez(tmp_path / "d.npz", x=np.ones((2, 3, 4, 4), np.float32))
    (b,) = Dataset.open(tmp_path / "d.npz", nchw, Preprocess(mean=(1.0, 2.0, 3.0))).batches()
    assert [float(b.inputs[0][0, c, 0, 0]) for c in range(3)] == [0.0, -1.0, -2.0]
    with pytest.raises(OptionError, match=r"has 3 channel\(s\) on axis 1 \(NCHW\)"):
        Dataset.open(tmp_path / "d.npz", nchw, Preprocess(mean=(1.0, 2.0, 3.0, 4.0)))
    # A 4x4 RGB image into a (3, 4, 4) input: by its shape alone it would pass for 3x4 RGBA.
    (tmp_path / "imgs").mkdir()
    Image.fromarray(np.dstack([np.full((4, 4), v, np.uint8) for v in (10, 20, 30)])).save(tmp_path / "imgs" / "a.png")
    (b,) = Dataset.open(tmp_path / "imgs", nchw).batches()
    assert b.inputs[0].shape == (1, 3, 4, 4) and [float(b.inputs[0][0, c, 1, 1]) for c in range(3)] == [10, 20, 30]
