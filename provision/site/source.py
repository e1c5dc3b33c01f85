"""Where each value of a site file came from, so every finding can name file:line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class Location:
    file: str
    line: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class SourceMap:
    """Maps a value's path in the document (e.g. ("network", "segments", 0, "cidr")) to its place.

    A path that was not written in the file (a default, a missing field) resolves to the
    nearest written ancestor, so a finding about it still points somewhere useful. Values
    read from another file (users from a CSV) carry that file's name.
    """

    file: Path
    locations: dict[PathKey, Location] = field(default_factory=dict)

    def record(self, path: PathKey, line: int, file: Path | None = None) -> None:
        self.locations[path] = Location(str(file or self.file), line)

    def at(self, *path: str | int) -> Location:
        probe = tuple(path)
        while probe:
            if probe in self.locations:
                return self.locations[probe]
            probe = probe[:-1]
        return self.locations.get((), Location(str(self.file), 1))
