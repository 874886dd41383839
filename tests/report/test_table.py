"""The report's artifact table cells (edgekit/report/table.py)."""

from __future__ import annotations

from edgekit.report.table import artifact_table


def _row(**over) -> dict:
    row = {"key": "tflm/int8", "scheme": "int8", "bytes": 20_000, "vs_float32": 0.26, "accuracy": 0.98, "agreement": 1.0,
           "cosine": 0.9999, "host_ms": 0.1, "host_variant": "reference", "device_ms": 12.0, "device_error": 0.12,
           "ram_bytes": 13_000, "flash_bytes": 160_000, "fits": True, "fit_basis": "measured", "device_counted": True}  # fmt: skip
    return {**row, **over}


def test_cells_say_what_is_measured_and_what_is_estimated():
    view = {"device": {"name": "cortex-m4"}, "headline_label": "top-1",
            "artifacts": [_row(), _row(key="tflite/int8", fit_basis="estimated", device_counted=False, fits=False)]}  # fmt: skip
    head, rows = artifact_table(view)
    fits, latency = head.index("fits?"), head.index("cortex-m4 latency (est.)")
    assert rows[0][fits] == "yes (measured)" and rows[1][fits] == "no (estimated)"
    assert rows[0][latency].endswith("±12% (counted)") and not rows[1][latency].endswith("(counted)")
    bare = artifact_table({"device": None, "headline_label": "", "artifacts": [_row(fits=None, device_ms=None)]})[1][0]
    assert "–" in bare and "(measured)" not in " ".join(bare)
