"""Shared by the c target's tests: the tiny model as int8 TFLite, and one kernel object
cache for every test (compiled once per session, like the firmware tests' TFLM objects)."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.conftest import ROOT
from targets.tflm.firmware import default_tflm_root

TREE = default_tflm_root("reference")


def needs_compiler():
    have = TREE.is_dir() and shutil.which("gcc") and shutil.which("g++")
    return pytest.mark.skipif(not have, reason="needs gcc/g++ and ../shared/tflm/reference")


@pytest.fixture(scope="session")
def tiny_int8(tiny_keras, tiny_data, tmp_path_factory) -> bytes:
    from edgekit.data import Dataset
    from edgekit.model import load_model
    from quantize.spec import QuantSpec
    from targets.tflite.exporter import TFLiteTarget

    model = load_model(tiny_keras)
    out = tmp_path_factory.mktemp("c-tiny")
    return TFLiteTarget().export(model, QuantSpec("int8"), out, Dataset.open(tiny_data, model.inputs)).primary.read_bytes()


@pytest.fixture(scope="session", autouse=True)
def c_object_cache():
    """The kernel objects in the repo's build/ folder, shared by every test and run."""
    path = ROOT / "build" / "test-tflm-objects"
    path.mkdir(parents=True, exist_ok=True)
    before = os.environ.get("EDGEKIT_TFLM_OBJECTS")
    os.environ["EDGEKIT_TFLM_OBJECTS"] = str(path)
    yield path
    if before is None:
        os.environ.pop("EDGEKIT_TFLM_OBJECTS", None)
    else:
        os.environ["EDGEKIT_TFLM_OBJECTS"] = before
