"""Core ML ML Program packages (``.mlpackage``) through ``coremltools.convert``.

Keras and SavedModel sources are converted through their fixed-signature TF concrete
function. Schemes: float32 (fp32 weights and compute), float16 (fp16 weights and compute),
int8-weights (linear symmetric per-channel int8 weights), palettize4/6/8 (k-means weight
palettes), sparse (magnitude pruning, stored sparse); weight compression goes through
``coremltools.optimize.coreml`` and runs at the compute precision asked for (fp16 default).
Activation quantization (int8) calibrates by running the model in the Core ML runtime, which
only exists on macOS, so it is offered there only.

Options (``--coreml-*`` flags or an ``[export.coreml]`` table): ``deployment_target``,
``precision``, ``input`` (tensor or image, with ``color_layout``; the image scale/bias come
from ``--scale/--mean/--std``), ``input_names``/``output_names``, metadata ``author``,
``license``, ``version``, ``description``, and ``sparsity``. ``--labels`` makes a classifier.

Packages are made deterministic: coremltools writes random item ids into Manifest.json, the
conversion date into the metadata, and protobuf map fields in hash order; the ids are fixed,
the date dropped, and model.mlmodel re-serialized with sorted maps.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from edgekit import jsontext
from edgekit.errors import ConversionError, EdgekitError, OptionError, UnsupportedError
from edgekit.model import SourceModel
from targets.coreml.runner import runtime_available
from quantize.spec import QuantSpec
from targets.base import Artifact, check_scheme

_DESCRIBE = {
    "float32": "float32 weights and compute",
    "float16": "float16 weights and compute",
    "int8-weights": "int8 weights (linear symmetric, per output channel), dequantized at load",
    "palettize4": "4-bit palettized weights (k-means, 16-entry table per tensor)",
    "palettize6": "6-bit palettized weights (k-means, 64-entry table per tensor)",
    "palettize8": "8-bit palettized weights (k-means, 256-entry table per tensor)",
    "sparse": "magnitude-pruned weights stored sparse (bit mask + non-zero values)",
    "int8": "int8 weights and activations (activations calibrated in the Core ML runtime)",
}
DEPLOYMENT_TARGETS = ("iOS15", "iOS16", "iOS17", "iOS18", "macOS12", "macOS13", "macOS14", "macOS15",
                      "watchOS8", "watchOS9", "watchOS10", "watchOS11", "tvOS15", "tvOS16", "tvOS17", "tvOS18")  # fmt: skip
PRECISIONS = ("float16", "float32")
INPUT_KINDS = ("tensor", "image")
COLOR_LAYOUTS = ("RGB", "BGR", "G")
METADATA_KEYS = ("author", "license", "version", "description")
OPTION_KEYS = ("deployment_target", "precision", "input", "color_layout", "input_names", "output_names",
               "sparsity", *METADATA_KEYS)  # fmt: skip
# Weight tensors smaller than this stay uncompressed (biases, tiny depthwise kernels):
# coremltools' default is 2048; 256 compresses every real kernel of the small edge models.
WEIGHT_THRESHOLD = 256
# A fixed id for Manifest.json (coremltools writes random uuid4s).
_ITEM_IDS = {"model.mlmodel": "00000000-0000-4000-8000-000000000001",
             "weights": "00000000-0000-4000-8000-000000000002"}  # fmt: skip


class CoreMLTarget:
    name = "coreml"
    suffix = ".mlpackage"

    def __init__(self, options: dict | None = None, labels: list[str] | None = None, preprocess=None):
        opts = {str(k).replace("-", "_"): v for k, v in (options or {}).items()}
        unknown = sorted(set(opts) - set(OPTION_KEYS))
        if unknown:
            raise OptionError(f"coreml option(s) {', '.join(unknown)} unknown; known: {', '.join(OPTION_KEYS)}")
        self.deployment_target = _choice(opts.get("deployment_target", "iOS16"), DEPLOYMENT_TARGETS, "--coreml-target")
        self.precision = _choice(opts.get("precision", "float16"), PRECISIONS, "--coreml-precision")
        self.input_kind = _choice(opts.get("input", "tensor"), INPUT_KINDS, "--coreml-input")
        self.color_layout = _choice(opts.get("color_layout", "RGB"), COLOR_LAYOUTS, "coreml color_layout")
        self.input_names = _names(opts.get("input_names"), "input_names")
        self.output_names = _names(opts.get("output_names"), "output_names")
        sparsity = opts.get("sparsity", 0.5)
        self.sparsity = float(sparsity) if isinstance(sparsity, (int, float)) and not isinstance(sparsity, bool) else -1.0
        if not 0.0 < self.sparsity < 1.0:
            raise OptionError(f"coreml sparsity {sparsity!r}: give a fraction between 0 and 1 (e.g. 0.5)")
        self.metadata = {k: str(opts[k]) for k in METADATA_KEYS if opts.get(k) is not None}
        self.labels = labels
        self.preprocess = preprocess
        self.schemes = frozenset(s for s in _DESCRIBE if s != "int8" or runtime_available())

    def check(self, model: SourceModel | None, spec: QuantSpec) -> None:
        if spec.scheme == "int8" and not runtime_available():
            raise UnsupportedError(
                "coreml int8 quantizes activations with statistics collected by running the model in the Core ML "
                "runtime, which exists only on macOS; on this host use coreml=int8-weights (weight-only int8)"
            )
        check_scheme(self, spec)
        if spec.scheme == "int8" and spec.io_dtype not in (None, "float32"):
            raise UnsupportedError("coreml int8 keeps float32 inputs and outputs; drop --io-dtype")
        if spec.scheme not in ("float32", "float16") and self.deployment_target in ("iOS15", "macOS12", "watchOS8", "tvOS15"):
            raise UnsupportedError(f"coreml {spec.scheme} needs compressed-weight ops from iOS16/macOS13 on; "
                                   f"--coreml-target {self.deployment_target} is too old")  # fmt: skip
        if model is not None:
            if model.kind == "tflite":
                raise UnsupportedError(f"{model.path}: coremltools converts Keras and SavedModel models, not .tflite; "
                                       "export Core ML from the Keras or SavedModel source")  # fmt: skip
            for option, names, tensors in (("input_names", self.input_names, model.inputs),
                                           ("output_names", self.output_names, model.outputs)):  # fmt: skip
                if names and len(names) != len(tensors):
                    raise OptionError(f"coreml {option}: {len(names)} name(s) for {len(tensors)} tensor(s) of {model.name}")
            if self.input_kind == "image" and spec.scheme == "int8":
                raise UnsupportedError("coreml int8 calibrates on tensors; use --coreml-input tensor with int8")
            if self.input_kind == "image" and model.via_torch:
                raise UnsupportedError("--coreml-input image takes a channels-last (Keras, SavedModel) source; "
                                       "use --coreml-input tensor for a PyTorch model")  # fmt: skip
            if self.input_kind == "image" and (len(model.inputs) != 1 or len(model.inputs[0].shape) != 4
                                               or model.inputs[0].shape[-1] not in (1, 3)):  # fmt: skip
                raise UnsupportedError("--coreml-input image needs one NHWC input with 1 or 3 channels")
            if self.labels and (len(model.outputs) != 1 or model.outputs[0].shape[-1] != len(self.labels)):
                raise OptionError(f"--labels has {len(self.labels)} labels; {model.name}'s output has shape "
                                  f"{model.outputs[0].shape}")  # fmt: skip

    def compute_precision(self, spec: QuantSpec) -> str:
        return {"float32": "float32", "float16": "float16"}.get(spec.scheme, self.precision)

    def describe(self, spec: QuantSpec) -> str:
        text = _DESCRIBE[spec.scheme]
        if spec.scheme == "sparse":
            text += f", {self.sparsity:.0%} of each weight tensor zeroed"
        if spec.scheme not in ("float32", "float16"):
            text += f"; {self.compute_precision(spec)} compute"
        return f"{text}; ML Program for {self.deployment_target}+"

    def export(self, model: SourceModel, spec: QuantSpec, out_dir: Path, calib=None, session=None) -> Artifact:
        """Convert ``model`` for ``spec`` into ``out_dir/<name>_<scheme>.mlpackage`` (``session``:
        unused, Core ML's runners need no crash probe)."""
        self.check(model, spec)
        notes = [self.describe(spec)]
        meta: dict = {"compute_precision": self.compute_precision(spec), "deployment_target": self.deployment_target}
        mlmodel, image = self._convert(model, spec)
        meta.update(image)
        if self.labels:
            meta["classifier"] = True
            notes.append(f"classifier with {len(self.labels)} class labels")
        try:
            with warnings.catch_warnings():
                # coremltools divides by a zero scale for all-zero channels (VWW has some); their
                # dequantized weights are 0 either way.
                warnings.simplefilter("ignore", RuntimeWarning)
                mlmodel = _compress(mlmodel, spec.scheme, self.sparsity, calib, spec)
        except EdgekitError:
            raise
        except Exception as e:
            raise ConversionError(f"coremltools could not compress {model.path} ({spec.scheme}): {_first_line(e)}") from e
        _set_metadata(mlmodel, self.metadata, model)
        out_dir.mkdir(parents=True, exist_ok=True)
        filename = f"{model.name}_{spec.scheme}{self.suffix}"
        path = out_dir / filename
        _save_deterministic(mlmodel, path)

        from targets.coreml.runner import CoreMLRunner

        runner = CoreMLRunner()
        runner.load_path(path, meta)
        meta["ops"] = runner.program.op_histogram()
        meta["weight_bytes"] = runner.program.weight_file_bytes()
        missing = runner.unsupported_ops()
        if missing:
            notes.append(f"cannot simulate op {', '.join(missing)} on this host: validation skips this artifact")
        else:
            runner.smoke_test()
        return Artifact(self.name, spec.scheme, out_dir, (filename,), runner.inputs, runner.outputs, tuple(notes), meta,
                        spec)  # fmt: skip

    def _convert(self, model: SourceModel, spec: QuantSpec):
        import coremltools as ct
        import numpy as np

        source, source_kind = (_traced(model), "pytorch") if model.via_torch else (_concrete_function(model), "tensorflow")
        image_meta: dict = {}
        if self.input_kind == "image":
            t = model.inputs[0]
            scale, bias = _image_scale_bias(self.preprocess, t.shape[-1])
            layout = "G" if t.shape[-1] == 1 else self.color_layout
            if layout == "G" and t.shape[-1] != 1 or layout != "G" and t.shape[-1] != 3:
                raise OptionError(f"coreml color_layout {layout} does not fit {t.shape[-1]} input channel(s)")
            inputs = [ct.ImageType(name=t.name, shape=t.shape, scale=scale, bias=bias, channel_first=False,
                                   color_layout={"RGB": ct.colorlayout.RGB, "BGR": ct.colorlayout.BGR,
                                                 "G": ct.colorlayout.GRAYSCALE}[layout])]  # fmt: skip
            image_meta["image_input"] = {"scale": scale, "bias": list(bias) if isinstance(bias, list) else [bias],
                                         "color_layout": layout}  # fmt: skip
        else:
            inputs = [ct.TensorType(name=t.name, shape=t.shape, dtype=np.float32) for t in model.inputs]
        kwargs = {}
        if self.labels:
            kwargs["classifier_config"] = ct.ClassifierConfig(list(self.labels))
        try:
            mlmodel = ct.convert(
                [source] if source_kind == "tensorflow" else source, source=source_kind, convert_to="mlprogram", inputs=inputs,
                minimum_deployment_target=getattr(ct.target, self.deployment_target),
                compute_precision=ct.precision.FLOAT32 if self.compute_precision(spec) == "float32" else ct.precision.FLOAT16,
                skip_model_load=not runtime_available(), **kwargs,
            )  # fmt: skip
        except EdgekitError:
            raise
        except Exception as e:  # coremltools raises NotImplementedError, ValueError, ... per op
            raise ConversionError(f"coremltools could not convert {model.path}: {_first_line(e)}") from e
        return self._rename(mlmodel, model), image_meta

    def _rename(self, mlmodel, model: SourceModel):
        """Name inputs/outputs as the source model does (or as the options say)."""
        import coremltools as ct

        spec = mlmodel.get_spec()
        want_in = self.input_names or [t.name for t in model.inputs]
        want_out = self.output_names or [t.name for t in model.outputs]
        outputs = [o.name for o in spec.description.output]
        if self.labels:  # classifier: name the probabilities output; the label stays classLabel
            outputs, want_out = [spec.description.predictedProbabilitiesName], want_out[:1]
        changed = False
        for old, new in [*zip([i.name for i in spec.description.input], want_in), *zip(outputs, want_out)]:
            if old != new:
                ct.utils.rename_feature(spec, old, new)
                changed = True
        if not changed:
            return mlmodel
        return ct.models.MLModel(spec, weights_dir=mlmodel.weights_dir, skip_model_load=not runtime_available())


def _choice(value, choices, option: str) -> str:
    if value not in choices:
        raise OptionError(f"{option} {value!r}: choose one of {', '.join(choices)}")
    return value


def _names(value, option: str) -> list[str] | None:
    if value is None:
        return None
    names = [n.strip() for n in value.split(",")] if isinstance(value, str) else [str(n) for n in value]
    if not all(n.isidentifier() for n in names):
        raise OptionError(f"coreml {option} {value!r}: names must be identifiers (letters, digits, underscore)")
    return names


def _first_line(e: Exception) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return (lines[0] if lines else type(e).__name__)[:300]


def _image_scale_bias(pre, channels: int):
    """Core ML's image preprocessing ``pixel * scale + bias`` from edgekit's
    ``(x * scale - mean) / std`` (one scale for all channels, as Core ML requires)."""
    scale = float(pre.scale) if pre is not None and pre.scale is not None else 1.0
    mean = list(pre.mean) if pre is not None and pre.mean is not None else [0.0]
    std = list(pre.std) if pre is not None and pre.std is not None else [1.0]
    if len(set(std)) != 1:
        raise OptionError("--coreml-input image: Core ML images take one scale for all channels; give one --std")
    mean = mean * channels if len(mean) == 1 else mean
    if len(mean) != channels:
        raise OptionError(f"--mean has {len(mean)} values for {channels} channel(s)")
    bias = [-m / std[0] for m in mean]
    return scale / std[0], (bias if channels > 1 else bias[0])


def _concrete_function(model: SourceModel):
    """The TF concrete function with the SourceModel's fixed input signature."""
    if model.kind in ("keras", "tf_keras"):
        import tensorflow as tf

        keras_model = model.keras_model()
        specs = [tf.TensorSpec(t.shape, t.dtype, name=t.name) for t in model.inputs]

        def call(*args):
            return keras_model(args[0] if len(args) == 1 else list(args), training=False)

        return tf.function(call).get_concrete_function(*specs)
    fn, _ = model.concrete_function()
    return fn


def _traced(model: SourceModel):
    """The PyTorch program as TorchScript, traced with the fixed example inputs.

    coremltools' TorchScript frontend is its tested path; its ExportedProgram frontend (9.0)
    fails on torch 2.14 programs (``aten.max_pool2d`` with a default stride: "got 2 input(s),
    expected minimum 3"), so the module of the ExportedProgram is traced instead: the same
    ATen calls, no Python from the file (the graph's targets were checked at load)."""
    import warnings

    import torch

    module = model.exported_program().module()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings of the program's own shape asserts
        try:
            return torch.jit.trace(module, model.example_inputs(), strict=False, check_trace=False)
        except Exception as e:  # the tracer raises RuntimeError and friends per op
            raise ConversionError(f"coremltools needs a traced module; tracing {model.path} failed: {_first_line(e)}") from e


def _compress(mlmodel, scheme: str, sparsity: float, calib, spec: QuantSpec):
    if scheme in ("float32", "float16"):
        return mlmodel
    import coremltools.optimize.coreml as cto

    def config(op):
        return cto.OptimizationConfig(global_config=op)

    int8_weights = config(cto.OpLinearQuantizerConfig(mode="linear_symmetric", dtype="int8", granularity="per_channel",
                                                      weight_threshold=WEIGHT_THRESHOLD))  # fmt: skip
    if scheme == "int8-weights":
        return cto.linear_quantize_weights(mlmodel, int8_weights)
    if scheme.startswith("palettize"):
        op = cto.OpPalettizerConfig(mode="kmeans", nbits=int(scheme[len("palettize"):]), granularity="per_tensor",
                                    weight_threshold=WEIGHT_THRESHOLD)  # fmt: skip
        return cto.palettize_weights(mlmodel, config(op))
    if scheme == "sparse":
        op = cto.OpMagnitudePrunerConfig(target_sparsity=sparsity, weight_threshold=WEIGHT_THRESHOLD)
        return cto.prune_weights(mlmodel, config(op))
    if scheme == "int8":  # macOS only (check() refuses it elsewhere): calibration runs Core ML
        if calib is None:
            raise UnsupportedError("coreml int8 needs calibration data (--calib)")
        from quantize.calibration import calibration_samples

        names = [i.name for i in mlmodel.get_spec().description.input]
        data = [dict(zip(names, s)) for s in calibration_samples(calib, spec.calib_size, 1)]
        act = cto.OpLinearQuantizerConfig(mode="linear_symmetric", dtype="int8", weight_threshold=WEIGHT_THRESHOLD)
        mlmodel = cto.linear_quantize_activations(mlmodel, config(act), data)
        return cto.linear_quantize_weights(mlmodel, int8_weights)
    raise UnsupportedError(f"coreml cannot produce {scheme}")  # pragma: no cover - check() refuses first


def _set_metadata(mlmodel, metadata: dict, model: SourceModel) -> None:
    mlmodel.author = metadata.get("author", "")
    mlmodel.license = metadata.get("license", "")
    mlmodel.version = metadata.get("version", "")
    mlmodel.short_description = metadata.get("description", f"{model.name}, exported by edgekit")
    mlmodel.user_defined_metadata.pop("com.github.apple.coremltools.conversion_date", None)


def _save_deterministic(mlmodel, path: Path) -> None:
    """Save, then replace the random ids coremltools writes into Manifest.json."""
    try:
        mlmodel.save(str(path))
    except Exception as e:
        raise ConversionError(f"coremltools could not save {path.name}: {_first_line(e)}") from e
    # protobuf writes map fields (op inputs, attributes) in hash order: re-serialize sorted.
    from coremltools.proto import Model_pb2

    model_file = path / "Data" / "com.apple.CoreML" / "model.mlmodel"
    spec = Model_pb2.Model()
    spec.ParseFromString(model_file.read_bytes())
    model_file.write_bytes(spec.SerializeToString(deterministic=True))
    manifest = path / "Manifest.json"
    data = json.loads(manifest.read_text())
    renamed = {}
    for old, entry in data["itemInfoEntries"].items():
        new = _ITEM_IDS.get(entry["name"], old)
        renamed[new] = entry
        if data.get("rootModelIdentifier") == old:
            data["rootModelIdentifier"] = new
    data["itemInfoEntries"] = dict(sorted(renamed.items()))
    manifest.write_text(jsontext.dumps(data, indent=4, sort_keys=True) + "\n")
