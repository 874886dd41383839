import pytest

from edgekit.errors import OptionError
from quantize.spec import QuantSpec, parse_quant_plan


def test_defaults_and_io():
    spec = QuantSpec("int8")
    assert spec.needs_calibration and spec.io == "int8" and spec.per_channel == "conv"
    assert QuantSpec("int16x8").io == "int16"
    assert QuantSpec("float16").io == "float32"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"scheme": "int3"}, "unknown scheme 'int3'"),
        ({"scheme": "float16", "io_dtype": "int8"}, "does not go with scheme float16"),
        ({"scheme": "int8", "calib_size": 0}, "--calib-size"),
        ({"scheme": "int8", "per_channel": "some"}, "--per-channel"),
    ],
)
def test_invalid_specs(kwargs, message):
    with pytest.raises(OptionError, match=message):
        QuantSpec(**kwargs)


def test_with_scheme_keeps_only_valid_io():
    spec = QuantSpec("int8", io_dtype="uint8")
    assert spec.with_scheme("float32").io_dtype is None
    assert spec.with_scheme("int8").io == "uint8"


def test_plan_global_and_per_target():
    assert parse_quant_plan("float32,int8", ["tflite", "coreml"]) == {
        "tflite": ("float32", "int8"),
        "coreml": ("float32", "int8"),
    }
    assert parse_quant_plan("tflite=int8,coreml=palettize4,tflite=float32", ["tflite", "coreml"]) == {
        "tflite": ("int8", "float32"),
        "coreml": ("palettize4",),
    }
    assert parse_quant_plan({"tflite": ["int8", "float16"]}, ["tflite"]) == {"tflite": ("int8", "float16")}
    assert parse_quant_plan("int8,int8", ["tflite"]) == {"tflite": ("int8",)}


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("openvino=int8", "not in --target"),
        ("tflite=bogus", "unknown scheme"),
        ("coreml=int8", "not in --target"),
    ],
)
def test_plan_errors(text, message):
    with pytest.raises(OptionError, match=message):
        parse_quant_plan(text, ["tflite"])


def test_plan_needs_every_target_covered():
    with pytest.raises(OptionError, match="no scheme for target 'coreml'"):
        parse_quant_plan("tflite=int8", ["tflite", "coreml"])


def test_closest_plan_maps_shared_schemes_only():
    from quantize.spec import closest_plan

    supported = {"tflite": frozenset({"float32", "int8", "dynamic"}), "coreml": frozenset({"float32", "int8-weights"})}
    assert closest_plan("float32,int8", ["tflite", "coreml"], supported) == {
        "tflite": (("float32", "float32"), ("int8", "int8")),
        "coreml": (("float32", "float32"), ("int8-weights", "int8")),
    }
    # per target: exact, so the target refuses it later
    assert closest_plan("tflite=int8,coreml=int8", ["tflite", "coreml"], supported)["coreml"] == (("int8", "int8"),)
    # no close scheme: unchanged; one target: exact
    assert closest_plan("palettize4", ["tflite", "coreml"], supported)["tflite"] == (("palettize4", "palettize4"),)
    assert closest_plan("int8", ["coreml"], supported) == {"coreml": (("int8", "int8"),)}
