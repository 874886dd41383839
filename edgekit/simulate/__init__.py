"""The simulator: run artifacts in their real runtimes and measure them."""
