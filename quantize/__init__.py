"""Target-independent compression: quantization specs, calibration, pruning."""
