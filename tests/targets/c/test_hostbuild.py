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
