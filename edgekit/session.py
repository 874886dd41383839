"""What one export run shares: its conversions, the model files it wrote itself, its stage.

The pipeline makes one ``ExportSession`` per run and hands it to every target and to the
runners that load what the run wrote; nothing of it lives in a module. A library call
without a session gets a fresh one, so a conversion is shared only inside one call and
no file is trusted beyond the run whose converter wrote it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


@dataclass(eq=False)
class ExportSession:
    """State of one export run, passed explicitly."""

    stage: Path | None = None  # the staging directory the run writes into (None: a library call)
    # Digests (edgekit.runtime.probe) of model files this run's own converters wrote: the
    # in-process runtimes load them without a crash probe.
    trusted: set[str] = field(default_factory=set)
    _memo: dict = field(default_factory=dict, repr=False)

    def trust(self, content: bytes) -> None:
        """Mark model bytes this run's converter just produced as safe for the in-process runtime."""
        from edgekit.runtime.probe import digest

        self.trusted.add(digest(content))

    def trust_files(self, *paths: Path) -> None:
        """Mark a model this run's converter just saved in several files (an IR's .xml and
        .bin) as safe for the in-process runtime."""
        from edgekit.runtime.probe import files_digest

        self.trusted.add(files_digest(*paths, source=Path(paths[0])))

    def cached(self, key: tuple, make: Callable[[], T], keep: Iterable[object] = ()) -> T:
        """``make()`` once per ``key`` in this session. ``keep``: the objects whose ``id`` is in
        the key, held as long as the entry so their ids cannot be reused by other objects."""
        if key not in self._memo:
            self._memo[key] = (make(), tuple(keep))
        return self._memo[key][0]


def session_or_new(session: ExportSession | None) -> ExportSession:
    """``session``, or a fresh one for a library call made outside an export run."""
    return ExportSession() if session is None else session
