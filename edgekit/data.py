"""Datasets for calibration and evaluation, streamed in batches.

Sources: ``.npz`` (key ``x``, or one key per model input; optional ``y``), ``.npy`` (inputs
only), a directory of images (optionally one sub-directory per class), or random samples.
Arrays are read incrementally from their files (``.npz`` members are decoded as a stream,
``.npy`` is memory-mapped), so a large evaluation set is never loaded whole.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekit.errors import DataError, OptionError
from edgekit.tensors import TensorInfo

# What reading a damaged .npz (or .npy) can raise: bad headers, unsupported or corrupt
# compression, CRC mismatches, early ends.
_READ_ERRORS = (OSError, EOFError, ValueError, NotImplementedError, RuntimeError, zipfile.BadZipFile, zlib.error)
_MAX_EXPANSION = 1100  # deflate's best ratio is about 1032:1
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".pgm", ".webp", ".tif", ".tiff")


@dataclass(frozen=True)
class Preprocess:
    """``x' = (x * scale - mean) / std``, per channel where mean/std have several values."""

    scale: float | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    def __post_init__(self):
        for option, values in (("--scale", (self.scale,) if self.scale is not None else None),
                               ("--mean", self.mean), ("--std", self.std)):  # fmt: skip
            if values is not None and not all(math.isfinite(v) for v in values):
                raise OptionError(f"{option} {_text(values)}: give finite numbers")
        if self.std is not None and 0.0 in self.std:
            raise OptionError(f"--std {_text(self.std)}: a standard deviation of 0 divides by zero; give non-zero values")

    def check(self, inputs: Sequence[TensorInfo]) -> None:
        """Per-channel mean/std must match the channel axis of every model input (the last
        one, or axis 1 of an NCHW image)."""
        for option, values in (("--mean", self.mean), ("--std", self.std)):
            for t in inputs if values is not None and len(values) > 1 else ():
                channels = t.shape[t.channel_axis] if t.shape else 1
                if len(values) != channels:
                    where = "axis 1 (NCHW)" if t.channel_axis == 1 else "its last axis"
                    raise OptionError(
                        f"{option} {_text(values)}: {len(values)} values, but model input '{t.name}' {tuple(t.shape)} "
                        f"has {channels} channel(s) on {where}; give one value or {channels}"
                    )

    def apply(self, x: np.ndarray, channel_axis: int = -1) -> np.ndarray:
        """``x`` preprocessed; per-channel values broadcast along ``channel_axis`` (1: NCHW)."""
        if self.scale is None and self.mean is None and self.std is None:
            return x
        x = x.astype(np.float32)

        def per_channel(values) -> np.ndarray:
            v = np.asarray(values, np.float32)
            return v.reshape(-1, *([1] * (x.ndim - 2))) if channel_axis == 1 and v.size > 1 and x.ndim > 2 else v

        if self.scale is not None:
            x = x * np.float32(self.scale)
        if self.mean is not None:
            x = x - per_channel(self.mean)
        if self.std is not None:
            x = x / per_channel(self.std)
        return x

    def to_json(self) -> dict:
        return {k: v for k, v in (("scale", self.scale), ("mean", self.mean), ("std", self.std)) if v is not None}

    @classmethod
    def from_json(cls, d: dict | None) -> Preprocess:
        d = d or {}
        return cls(d.get("scale"), tuple(d["mean"]) if "mean" in d else None, tuple(d["std"]) if "std" in d else None)


def _text(values) -> str:
    return ",".join(f"{v:g}" for v in values)


@dataclass
class Batch:
    inputs: list[np.ndarray]  # one array per model input, leading dim = samples
    labels: np.ndarray | None


class _ArrayStream:
    """Rows of one array stored in a ``.npy`` file or an ``.npz`` member, read in order."""

    def __init__(self, path: Path, member: str | None):
        self.path, self.member = path, member
        with self._open() as f:
            self.shape, self.dtype, self.fortran = _read_header(f, self._label())
            header = f.tell()
        if self.dtype.hasobject:
            raise DataError(f"{self._label()}: holds Python objects; store numeric arrays")
        if not self.shape:
            raise DataError(f"{self._label()}: is a scalar, not an array of samples")
        # The header's shape is only a claim: check it against the bytes there really are
        # before anything sized by it is allocated.
        declared, stored = math.prod(self.shape) * self.dtype.itemsize, self._stored_bytes() - header
        if declared > stored:
            raise DataError(
                f"{self._label()}: the header declares shape {self.shape} ({declared:,} bytes of {self.dtype}) "
                f"but the file holds {max(stored, 0):,}; the file is truncated or corrupt"
            )

    def _stored_bytes(self) -> int:
        """Bytes of the .npy file or of the uncompressed .npz member, bounded by what is on disk."""
        if self.member is None:
            return self.path.stat().st_size
        try:
            with zipfile.ZipFile(self.path) as z:
                info = z.getinfo(self.member)
        except _READ_ERRORS as e:
            raise DataError(f"{self._label()}: cannot read ({type(e).__name__}: {e})") from e
        # A member's sizes are declared too: deflate expands at most ~1032x, stored not at all.
        ratio = 1 if info.compress_type == zipfile.ZIP_STORED else _MAX_EXPANSION
        if info.file_size > info.compress_size * ratio:
            raise DataError(
                f"{self._label()}: declares {info.file_size:,} bytes from {info.compress_size:,} compressed; "
                "the archive is corrupt"
            )
        return info.file_size

    def _label(self) -> str:
        return f"{self.path}[{self.member[:-4]}]" if self.member else str(self.path)

    def _open(self):
        try:
            if self.member is None:
                return open(self.path, "rb")
            return zipfile.ZipFile(self.path).open(self.member)
        except _READ_ERRORS as e:
            raise DataError(f"{self._label()}: cannot read ({type(e).__name__}: {e})") from e

    def __len__(self) -> int:
        return int(self.shape[0])

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.shape[1:])

    def chunks(self, rows: int, limit: int) -> Iterator[np.ndarray]:
        """Consecutive blocks of up to ``rows`` rows, stopping after ``limit`` rows."""
        if self.fortran:
            # Column-major data cannot be streamed row by row; this is the one case
            # that reads the array whole.
            whole = self._load_whole()[:limit]  # memory-mapped for a .npy file
            for s in range(0, len(whole), rows):
                yield np.ascontiguousarray(whole[s : s + rows])
            return
        row_bytes = self.dtype.itemsize * math.prod(self.sample_shape)
        with self._open() as f:
            _read_header(f, self._label())
            done = 0
            while done < limit:
                n = min(rows, limit - done)
                try:
                    raw = f.read(n * row_bytes)
                except _READ_ERRORS as e:
                    raise DataError(f"{self._label()}: cannot read ({type(e).__name__}: {e})") from e
                if len(raw) != n * row_bytes:
                    raise DataError(f"{self._label()}: file is truncated (expected {len(self)} samples)")
                yield np.frombuffer(raw, self.dtype).reshape((n, *self.sample_shape))
                done += n

    def _load_whole(self) -> np.ndarray:
        try:
            if self.member is None:
                return np.load(self.path, mmap_mode="r", allow_pickle=False)
            with self._open() as f:
                return np.lib.format.read_array(f, allow_pickle=False)
        except _READ_ERRORS as e:
            raise DataError(f"{self._label()}: cannot read ({type(e).__name__}: {e})") from e


def _read_header(f, label: str):
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    except Exception as e:  # numpy parses the header with ast/tokenize: any error means a bad file
        raise DataError(f"{label}: not a NumPy array file ({type(e).__name__}: {e})") from e
    if not isinstance(shape, tuple) or any(not isinstance(d, int) or d < 0 for d in shape):
        raise DataError(f"{label}: the header gives an invalid shape {shape!r}")
    return tuple(shape), np.dtype(dtype), bool(fortran)


class _ImageFolder:
    """Images under a directory; labels from the sub-directory names when there are any."""

    def __init__(self, path: Path, info: TensorInfo):
        self.path = path
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not files:
            raise DataError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) in the directory")
        self.files = files
        parents = {p.parent for p in files}
        if all(p.parent != path for p in files) and len(parents) > 1:
            self.classes = sorted({p.relative_to(path).parts[0] for p in files})
        else:
            self.classes = None
        shape = info.shape[1:]
        # Channels first where the source says so (NCHW: PyTorch, ONNX), else guessed from the shape.
        self.channels_first = info.layout == "NCHW" or (
            info.layout is None and len(shape) == 3 and shape[-1] not in (1, 3, 4) and shape[0] in (1, 3))
        c, h, w = (shape[0], shape[1], shape[2]) if self.channels_first else (
            (shape[2], shape[0], shape[1]) if len(shape) == 3 else (1, shape[0], shape[1]) if len(shape) == 2 else (0, 0, 0)
        )
        if c not in (1, 3, 4):
            raise DataError(
                f"{path}: model input '{info.name}' {info.shape} is not an image (H, W, C) tensor"
            )
        self.size, self.channels, self.sample_shape = (w, h), c, shape

    def __len__(self) -> int:
        return len(self.files)

    def label_ids(self) -> np.ndarray:
        return np.asarray([self.classes.index(p.relative_to(self.path).parts[0]) for p in self.files], np.int64)

    def read(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray | None]:
        from PIL import Image

        mode = {1: "L", 3: "RGB", 4: "RGBA"}[self.channels]
        xs, ys = [], []
        for p in self.files[start:stop]:
            try:
                with Image.open(p) as im:
                    arr = np.asarray(im.convert(mode).resize(self.size, Image.BILINEAR), np.float32)
            except Exception as e:  # Pillow raises anything from OSError to SyntaxError on broken files
                raise DataError(f"{p}: not a readable image ({type(e).__name__}: {e})") from e
            arr = arr.reshape(self.size[1], self.size[0], self.channels)
            if self.channels_first:
                arr = arr.transpose(2, 0, 1)
            xs.append(arr.reshape(self.sample_shape))
            if self.classes is not None:
                ys.append(self.classes.index(p.relative_to(self.path).parts[0]))
        return np.stack(xs), (np.asarray(ys, np.int64) if self.classes is not None else None)


class Dataset:
    """Samples (x, optional y) for a model's inputs, streamed in batches."""

    def __init__(self, source: str, inputs: Sequence[TensorInfo], count: int, reader, preprocess: Preprocess, has_labels: bool, random: bool = False,
                 labels=None):  # fmt: skip
        self.source = source
        self._labels = labels  # () -> every label, without reading the inputs
        self.inputs = tuple(inputs)
        self.count = count
        self._reader = reader  # (batch_size, limit) -> Iterator[Batch] of raw arrays
        self.preprocess = preprocess
        self.has_labels = has_labels
        self.random = random
        if count == 0:
            raise DataError(f"{source}: the dataset is empty")

    def __len__(self) -> int:
        return self.count

    def batches(self, batch_size: int = 64, limit: int | None = None) -> Iterator[Batch]:
        """Preprocessed, checked batches; at most ``limit`` samples in all."""
        limit = self.count if limit is None else min(limit, self.count)
        seen = 0
        for raw in self._reader(batch_size, limit):
            xs = [self._prepare(x, t, seen) for x, t in zip(raw.inputs, self.inputs)]
            yield Batch(xs, raw.labels)
            seen += len(xs[0])

    def _prepare(self, x: np.ndarray, info: TensorInfo, first: int) -> np.ndarray:
        x = self.preprocess.apply(np.asarray(x), info.channel_axis)
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            bad = first + int(np.argwhere(~np.isfinite(x.reshape(len(x), -1)).all(axis=1))[0][0])
            raise DataError(f"{self.source}: sample {bad} contains NaN or Inf; clean the data")
        want = tuple(info.shape[1:])
        if tuple(x.shape[1:]) != want:
            x = x.reshape((len(x), *want))  # sizes were checked at open; only unit dims differ
        if info.quantized and x.dtype == np.dtype(info.dtype):
            return x  # raw stored integers for a quantized input
        return x.astype(info.dtype if not info.quantized else np.float32, copy=False)

    def labels(self) -> tuple[str, np.ndarray] | None:
        """(where they come from, every label) without reading the inputs; None if unlabelled."""
        if self._labels is None:
            return None
        return self._labels()

    def take(self, n: int) -> list[list[np.ndarray]]:
        """The first ``n`` samples, one list of per-input arrays (leading dim 1) each."""
        out = []
        for b in self.batches(64, n):
            for i in range(len(b.inputs[0])):
                out.append([x[i : i + 1] for x in b.inputs])
        return out

    def describe(self) -> dict:
        d = {"source": self.source, "samples": self.count, "labels": self.has_labels, "random": self.random}
        pre = self.preprocess.to_json()
        if pre:
            d["preprocess"] = pre
        return d

    # -- constructors ------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, inputs: Sequence[TensorInfo], preprocess: Preprocess = Preprocess(), option: str = "--calib") -> Dataset:
        """Open ``.npz``, ``.npy`` or an image directory as samples for ``inputs``."""
        path = Path(path)
        preprocess.check(inputs)
        if not path.exists():
            raise DataError(f"{option} {path}: no such file or directory")
        if path.is_dir():
            if len(inputs) != 1:
                raise DataError(f"{option} {path}: an image directory feeds single-input models only")
            folder = _ImageFolder(path, inputs[0])

            def read_images(bs, limit):
                for s in range(0, limit, bs):
                    x, y = folder.read(s, min(s + bs, limit))
                    yield Batch([x], y)

            labels = (lambda: (f"{path} (sub-directory index)", folder.label_ids())) if folder.classes is not None else None
            return cls(str(path), inputs, len(folder), read_images, preprocess, folder.classes is not None, labels=labels)
        suffix = path.suffix.lower()
        if suffix == ".npy":
            if len(inputs) != 1:
                raise DataError(f"{option} {path}: a .npy file feeds single-input models; use .npz with one key per input")
            streams, label = [_ArrayStream(path, None)], None
        elif suffix == ".npz":
            streams, label = _npz_streams(path, inputs, option)
        else:
            raise DataError(f"{option} {path}: unknown data format; give .npz, .npy or a directory of images")

        count = len(streams[0])
        for s, t in zip(streams, inputs):
            _check_stream(s, t, option)
            if len(s) != count:
                raise DataError(f"{option} {path}: inputs have different sample counts ({count} vs {len(s)})")
        if label is not None and len(label) != count:
            raise DataError(f"{option} {path}: 'y' has {len(label)} labels for {count} samples")

        def read_arrays(bs, limit):
            its = [s.chunks(bs, limit) for s in streams]
            lab = label.chunks(bs, limit) if label is not None else None
            for parts in zip(*its):
                yield Batch(list(parts), next(lab) if lab is not None else None)

        labels = (lambda: (label._label(), label._load_whole())) if label is not None else None
        return cls(str(path), inputs, count, read_arrays, preprocess, label is not None, labels=labels)

    @classmethod
    def random(cls, inputs: Sequence[TensorInfo], count: int = 100, seed: int = 0) -> Dataset:
        """Uniform [0, 1) samples: makes int8 conversion possible, not accurate."""

        def read_random(bs, limit):
            rng = np.random.default_rng(seed)
            for s in range(0, limit, bs):
                n = min(bs, limit - s)
                yield Batch([rng.random((n, *t.shape[1:]), np.float32) for t in inputs], None)

        return cls("random", inputs, count, read_random, Preprocess(), False, random=True)


def _npz_streams(path: Path, inputs: Sequence[TensorInfo], option: str):
    try:
        with zipfile.ZipFile(path) as z:
            keys = [n[:-4] for n in z.namelist() if n.endswith(".npy")]
    except _READ_ERRORS as e:
        raise DataError(f"{option} {path}: not a readable .npz archive ({e})") from e
    names = [t.name for t in inputs]
    if len(inputs) == 1 and "x" in keys:
        chosen = ["x"]
    elif all(n in keys for n in names):
        chosen = names
    elif len(inputs) == 1 and len([k for k in keys if k != "y"]) == 1:
        chosen = [k for k in keys if k != "y"]
    else:
        want = "'x'" if len(inputs) == 1 else "one per input: " + ", ".join(repr(n) for n in names)
        raise DataError(f"{option} {path}: keys {keys} do not name the model inputs; use {want} (and optional 'y')")
    streams = [_ArrayStream(path, k + ".npy") for k in chosen]
    label = _ArrayStream(path, "y.npy") if "y" in keys else None
    return streams, label


def _check_stream(s: _ArrayStream, info: TensorInfo, option: str) -> None:
    if s.dtype.kind not in "biuf":
        raise DataError(f"{option} {s._label()}: dtype {s.dtype} is not numeric")
    want = tuple(info.shape[1:])
    got = s.sample_shape
    if got != want and [d for d in got if d != 1] != [d for d in want if d != 1]:
        raise DataError(
            f"{option} {s._label()}: samples have shape {got}, model input '{info.name}' needs {want} "
            f"(array shape (N, {', '.join(map(str, want))}))"
        )


def read_labels(path: str | Path) -> list[str]:
    """Class labels from a text file, one per line, in output order."""
    from edgekit.files import read_bounded

    path = Path(path)
    try:
        lines = read_bounded(path, "--labels", error=DataError).splitlines()
    except FileNotFoundError:
        raise DataError(f"--labels {path}: no such file") from None
    labels = [ln.strip() for ln in lines if ln.strip()]
    if not labels:
        raise DataError(f"--labels {path}: no labels in the file")
    return labels


def label_ids(labels: np.ndarray) -> np.ndarray:
    """Class ids of labels given as ids or one-hot rows."""
    labels = np.asarray(labels)
    if labels.ndim > 1 and labels.shape[-1] > 1:
        return labels.reshape(len(labels), -1).argmax(axis=1)
    return labels.reshape(-1).astype(np.int64)
