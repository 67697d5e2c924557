"""The model version every worker of one server should serve, in a small file they all poll, and what
each worker serves, in a file of its own.

`/admin/reload` lands in one worker; that worker loads the champion, swaps it in, then records the
version here. The other workers see the record on their next poll and load that exact version (not the
alias, which may have moved again), then report what they serve, so the reloading worker can answer
only once every live worker serves the new version (or say which did not).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path


def server_board_path(server_pid: int, *, app: str = "riskloop-fraud-api") -> Path:
    """The board of the server whose workers are children of `server_pid`, in the machine's temp folder
    (writable whatever the image's user)."""
    return Path(tempfile.gettempdir()) / f"{app}-{server_pid}" / "wanted-model.json"


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
        self._write(self.path, {"version": wanted.version, "generation": wanted.generation})
        return wanted

    def report(self, state: WorkerState) -> None:
        """Record what worker `state.pid` serves (atomically; one file per worker, so no writer races)."""
        self._write(self._state_path(state.pid), asdict(state))

    def workers(self) -> list[WorkerState]:
        """What every live worker reported, by pid; reports of processes that are gone are deleted."""
        states = []
        for path in sorted(self.path.parent.glob(f"{_STATE_PREFIX}*.json")):
            try:
                state = WorkerState(**json.loads(path.read_text()))
            except (OSError, ValueError, TypeError):
                continue  # being replaced, or not ours
            if _alive(state.pid):
                states.append(state)
            else:
                path.unlink(missing_ok=True)
        return states

    def _state_path(self, pid: int) -> Path:
        return self.path.parent / f"{_STATE_PREFIX}{pid}.json"

    def _write(self, path: Path, content: dict[str, object]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w") as handle:
            json.dump(content, handle)
        os.replace(tmp, path)


_STATE_PREFIX = "worker-"


@dataclass(frozen=True)
class WorkerState:
    pid: int
    # The last board generation this worker acted on (0: none yet), the version it serves (None: no model)
    # and, if it could not load that generation's version, why.
    generation: int
    version: str | None
    error: str | None = None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
