"""The host build: kernel objects compiled once into the shared cache, keyed by what they
are compiled from."""

from __future__ import annotations

from targets.c import hostbuild
from tests.targets.c.conftest import TREE, needs_compiler

pytestmark = needs_compiler()


def test_kernel_objects_are_cached(c_object_cache):
    first = hostbuild.kernel_objects(TREE)
    stamps = [p.stat().st_mtime_ns for p in first]
    again = hostbuild.kernel_objects(TREE)
    assert again == first and [p.stat().st_mtime_ns for p in again] == stamps
    assert all(p.parent.parent == c_object_cache and p.parent.name.startswith("c-host-") for p in first)


def test_the_key_follows_the_flags(monkeypatch):
    key = hostbuild.kernel_key(TREE, "g++")
    monkeypatch.setattr(hostbuild, "CXXFLAGS", (*hostbuild.CXXFLAGS, "-DEK_OTHER"))
    assert hostbuild.kernel_key(TREE, "g++") != key
