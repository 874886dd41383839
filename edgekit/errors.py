"""The one error tree of edgekit.

Every mistake a user can make (a bad file, an option that makes no sense, a scheme a target
cannot produce) is an ``EdgekitError`` whose message is a single line naming the culprit and
what to do. The CLI prints that line and exits non-zero; anything else is a bug in edgekit.
"""

from __future__ import annotations


class EdgekitError(Exception):
    """Base of every user-facing edgekit error."""

    exit_code = 2


class ModelFileError(EdgekitError):
    """The model file is missing, unreadable, corrupt or not a model."""


class UnsafeModelError(ModelFileError):
    """Loading the model would execute code stored in the file."""


class MissingExtraError(EdgekitError):
    """An optional dependency stack (an extra such as ``edgekit[torch]``) is not installed."""


class DataError(EdgekitError):
    """Calibration or evaluation data is missing, malformed or does not fit the model."""


class OptionError(EdgekitError):
    """A CLI flag or config value is invalid."""


class UnsupportedError(EdgekitError):
    """A scheme, op or combination that a target cannot produce."""


class CannotSimulate(UnsupportedError):
    """A reference runtime cannot execute an artifact (an op it has no kernel for): that
    artifact is reported as not validated; the others still are."""


class OutputError(EdgekitError):
    """The output location cannot be written (exists, not writable, ...)."""


class ConversionError(EdgekitError):
    """A vendor converter failed on an otherwise valid model."""


class DeviceFitError(EdgekitError):
    """The model does not fit the chosen device."""


class ToolchainError(EdgekitError):
    """A tool edgekit runs (cross compiler, emulator) is missing or failed."""
