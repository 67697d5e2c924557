"""The model version every worker of one server should serve, in a small file they all poll.

`/admin/reload` lands in one worker; that worker loads the champion, swaps it in, then records the
version here. The other workers see the record on their next poll and load that exact version (not the
alias, which may have moved again), so all converge on the same model without a restart.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WantedVersion:
    version: str
    # Bumped on every reload, so reloading the same version again is still seen as a new request.
    generation: int


class VersionBoard:
    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> WantedVersion | None:
        try:
            raw = json.loads(self.path.read_text())
            return WantedVersion(str(raw["version"]), int(raw["generation"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def post(self, version: str) -> WantedVersion:
        """Record `version` atomically (write then rename), so a reader never sees half a file."""
        current = self.read()
        wanted = WantedVersion(version, (current.generation + 1) if current else 1)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".wanted-")
        with os.fdopen(fd, "w") as handle:
            json.dump({"version": wanted.version, "generation": wanted.generation}, handle)
        os.replace(tmp, self.path)
        return wanted
