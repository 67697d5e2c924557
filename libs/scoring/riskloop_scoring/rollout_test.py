from __future__ import annotations

import os
from pathlib import Path

from riskloop_scoring.rollout import VersionBoard, WantedVersion, WorkerState


def test_posts_bump_the_generation_even_for_the_same_version(tmp_path: Path) -> None:
    board = VersionBoard(tmp_path / "sub" / "wanted.json")
    assert board.read() is None
    assert board.post("3") == WantedVersion("3", 1)
    assert board.post("3") == WantedVersion("3", 2)
    assert VersionBoard(board.path).read() == WantedVersion("3", 2)


def test_a_corrupt_board_reads_as_empty(tmp_path: Path) -> None:
    (tmp_path / "wanted.json").write_text("{not json")
    assert VersionBoard(tmp_path / "wanted.json").read() is None


def test_worker_reports_are_one_file_each_and_read_back(tmp_path: Path) -> None:
    board = VersionBoard(tmp_path / "wanted.json")
    board.report(WorkerState(os.getpid(), 3, "7"))
    board.report(WorkerState(os.getpid(), 4, "7", "load failed"))  # replaces this worker's earlier report
    assert board.workers() == [WorkerState(os.getpid(), 4, "7", "load failed")]
    assert board.read() is None  # reports are not the wanted version
