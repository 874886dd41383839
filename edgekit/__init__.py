"""edgekit: ship trained models to the edge, and prove every artifact."""

__version__ = "0.1.0"
