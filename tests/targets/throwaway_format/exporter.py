"""The throwaway format's target: TFLite's float32 conversion, written as NAME.lite."""

from __future__ import annotations

import dataclasses

from targets.base import check_scheme
from targets.tflite.exporter import TFLiteTarget


class LiteTarget:
    name = "lite"
    schemes = frozenset({"float32"})

    def check(self, model, spec) -> None:
        check_scheme(self, spec)

    def describe(self, spec) -> str:
        return "the float32 TFLite flatbuffer, renamed"

    def export(self, model, spec, out_dir, *args, **kwargs):
        made = TFLiteTarget().export(model, spec, out_dir, *args, **kwargs)
        renamed = made.primary.with_suffix(".lite")
        made.primary.rename(renamed)
        return dataclasses.replace(made, target=self.name, files=(renamed.name,), notes=(self.describe(spec),))
