"""The manifest of a batch run, DIR/batch.jsonl: one JSON row per job (its overrides, status,
seconds, outputs and what its nodes reported), appended as each job ends and tidied at the end.

A job whose row says "ok" for the same overrides, and whose outputs all exist, is done: a
re-run skips it. A lock on the folder keeps two batches from writing one manifest."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nodegraph.atomic import atomic_write
from nodegraph.errors import BatchError

from .sweep import Job

MANIFEST = "batch.jsonl"
LOCK = ".batch.lock"

try:
    import fcntl
except ImportError:  # not POSIX: no lock, one batch per folder is then the user's care
    fcntl = None


class Manifest:
    """DIR/batch.jsonl; rows are dicts with at least "job" and "status"."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.path = self.folder / MANIFEST

    def rows(self) -> dict[str, dict[str, Any]]:
        """The last row of each job id; a line a killed writer left half-written is ignored."""
        rows: dict[str, dict[str, Any]] = {}
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return rows
        for line in text.splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict) and isinstance(row.get("job"), str):
                rows[row["job"]] = row
        return rows

    def append(self, row: dict[str, Any]) -> None:
        """Adds one row, flushed to disk before returning: a finished job survives a crash."""
        self.folder.mkdir(parents=True, exist_ok=True)
        line = json.dumps(row, default=str, allow_nan=True) + "\n"
        with open(self.path, "a+") as f:
            if f.tell() and not _ends_with_newline(self.path):
                line = "\n" + line  # a killed writer's half line must not swallow this row
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def tidy(self, order: list[str]) -> None:
        """Rewrites the file (atomically) with one row per job: the jobs of `order` first, in
        that order, then rows of other jobs an earlier batch left."""
        rows = self.rows()
        if not rows:
            return
        ordered = [rows[j] for j in order if j in rows] + [r for j, r in rows.items() if j not in set(order)]
        text = "".join(json.dumps(row, default=str) + "\n" for row in ordered)
        atomic_write(self.path, text.encode())

    def is_done(self, job: Job, row: dict[str, Any] | None) -> bool:
        """True when `row` records `job` (same overrides) as ok and its outputs all exist."""
        if row is None or row.get("status") != "ok":
            return False
        if row.get("overrides") != json.loads(json.dumps(job.overrides, default=str)):
            return False
        return all(self.output_path(p).exists() for p in row.get("outputs") or [])

    def output_path(self, recorded: str) -> Path:
        """A row's output path (relative to the batch folder, or absolute) as a path."""
        path = Path(recorded)
        return path if path.is_absolute() else self.folder / path

    def record_path(self, written: str) -> str:
        """How a row records a written file: relative to the batch folder when inside it."""
        path = Path(written)
        try:
            return str(path.resolve().relative_to(self.folder.resolve()))
        except ValueError:
            return str(path)


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Holds DIR/.batch.lock for the run; BatchError when another batch holds it."""
    folder.mkdir(parents=True, exist_ok=True)
    if fcntl is None:
        yield
        return
    with open(folder / LOCK, "a+") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise BatchError(
                f"another batch is running in {str(folder)!r}; wait for it or choose another --output-dir"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
