"""The host build: kernel objects compiled once into the shared cache, keyed by what they
are compiled from."""

from __future__ import annotations

from dataclasses import replace

import pytest

from edgekit.errors import OptionError
from targets.c import hostbuild
from targets.c.kernels import kernel_set
from tests.targets.c.conftest import needs_compiler

pytestmark = needs_compiler()


def test_kernel_objects_are_cached(c_object_cache):
    first = hostbuild.kernel_objects()
    stamps = [p.stat().st_mtime_ns for p in first]
    again = hostbuild.kernel_objects()
    assert again == first and [p.stat().st_mtime_ns for p in again] == stamps
    assert all(p.parent.parent == c_object_cache and p.parent.name.startswith("c-host-") for p in first)


def test_the_key_follows_the_flags():
    kset, tc = kernel_set("portable"), hostbuild.host_toolchain()
    key = hostbuild.kernel_key(kset, tc)
    assert hostbuild.kernel_key(kset, replace(tc, cxxflags=(*tc.cxxflags, "-DEK_OTHER"))) != key
    assert hostbuild.kernel_key(replace(kset, defines=("-DEK_OTHER",)), tc) != key


def test_an_unknown_back_end_is_one_line():
    with pytest.raises(OptionError, match="choose portable, cmsis-nn"):
        kernel_set("fast")


def test_a_cmsis_nn_model_compiles_only_the_library_files_it_calls(tiny_int8, tmp_path):
    """The host build of a CMSIS-NN model picks CMSIS-NN's files as the firmware builds do
    (the ones the model calls into, transitively), not the whole library (115 files)."""
    from targets.c.generate import generate
    from targets.c.kernels import CMSIS_NN

    model = generate(tiny_int8, name="tiny", model_name="tiny.keras", kernels="cmsis-nn")
    for fname, text in model.files.items():
        (tmp_path / fname).write_text(text)
    kset = kernel_set("cmsis-nn")
    library = [s for s in kset.sources if s.resolve().is_relative_to((kset.root / CMSIS_NN / "Source").resolve())]
    used = hostbuild.used_sources(kset, tmp_path / "tiny.c")
    picked = used & set(library)
    assert 0 < len(picked) < len(library) / 2 and set(kset.sources) - set(library) <= used
    import ctypes

    lib = hostbuild.shared_library(tmp_path / "tiny.c", tmp_path, kernels="cmsis-nn")
    assert ctypes.CDLL(str(lib)).tiny_invoke  # loads: every symbol it calls is linked in
