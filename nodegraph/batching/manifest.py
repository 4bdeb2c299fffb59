"""The manifest of a batch run, DIR/batch.jsonl: one JSON row per job (its overrides, status,
seconds, outputs and what its nodes reported), appended as each job ends and tidied at the end.

A job whose row says "ok" for the same overrides, and whose outputs all exist, is done: a
re-run skips it. A lock on the folder keeps two batches from writing one manifest."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nodegraph.bound import BoundFolder
from nodegraph.errors import BatchError, ProjectError

from .sweep import Job

MANIFEST = "batch.jsonl"
LOCK = ".batch.lock"

try:
    import fcntl
except ImportError:  # not POSIX: no lock, one batch per folder is then the user's care
    fcntl = None


class Manifest:
    """DIR/batch.jsonl; rows are dicts with at least "job" and "status"."""

    def __init__(self, folder: str | os.PathLike, handle: BoundFolder | None = None) -> None:
        self.folder = Path(folder)
        self.path = self.folder / MANIFEST
        self.handle = handle  # the driver's one handle on the folder (locked()); else by path

    @contextmanager
    def _opened(self, create: bool = True) -> Iterator[BoundFolder | None]:
        if self.handle is not None:
            yield self.handle
            return
        with _bound(self.folder, create=create) as bound:
            yield bound

    def rows(self) -> dict[str, dict[str, Any]]:
        """The last row of each job id; a line a killed writer left half-written is ignored."""
        rows: dict[str, dict[str, Any]] = {}
        with self._opened(create=False) as bound:
            data = None
            if bound is not None:
                try:
                    data = bound.read(MANIFEST)
                except (ProjectError, OSError) as exc:
                    raise BatchError(f"can not read {str(self.path)!r}: {_reason(exc)}") from None
        if data is None:
            return rows
        text = data.decode("utf-8", "replace")
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
        line = json.dumps(row, default=str, allow_nan=True) + "\n"
        with self._opened() as bound:
            _guarded(self.path, lambda: bound.append(MANIFEST, line.encode()))

    def tidy(self, order: list[str]) -> None:
        """Rewrites the file (atomically) with one row per job: the jobs of `order` first, in
        that order, then rows of other jobs an earlier batch left."""
        rows = self.rows()
        if not rows:
            return
        ordered = [rows[j] for j in order if j in rows] + [
            r for j, r in rows.items() if j not in set(order)
        ]
        text = "".join(json.dumps(row, default=str) + "\n" for row in ordered)
        with self._opened() as bound:
            _guarded(self.path, lambda: bound.write(MANIFEST, text.encode()))

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


@contextmanager
def _bound(folder: Path, create: bool = True) -> Iterator[BoundFolder | None]:
    """The batch folder opened without following a link (None when missing and not `create`)."""
    try:
        bound = BoundFolder.open(folder, create=create)
    except FileNotFoundError:
        if create:
            raise BatchError(
                f"can not make the batch folder {str(folder)!r}: choose another --output-dir"
            ) from None
        yield None
        return
    except (ProjectError, OSError) as exc:
        raise BatchError(f"batch folder: {_reason(exc)}") from None
    with bound:
        yield bound


def _guarded(path: Path, write: Any) -> None:
    """Runs `write`; a refusal or an OS error (a full disk) becomes one BatchError line."""
    try:
        write()
    except (ProjectError, OSError) as exc:
        raise BatchError(f"can not write {str(path)!r}: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        hint = "free some space" if exc.errno == errno.ENOSPC else "choose another --output-dir"
        if exc.errno in (errno.EEXIST, errno.ENOTDIR):
            return f"{exc.filename} is a file, not a folder; {hint}"
        name = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror}{name}; {hint}"
    return str(exc)


@contextmanager
def locked(folder: Path) -> Iterator[BoundFolder]:
    """Holds DIR/.batch.lock for the run; BatchError when another batch holds it. Yields the
    folder's handle, open for the run: the driver's one handle on it (workers check theirs
    is the same folder, by BoundFolder.identity)."""
    with _bound(folder) as bound:
        fd: int = 0

        def _open() -> None:
            nonlocal fd
            fd = bound.open_file(LOCK, os.O_RDWR | os.O_CREAT)

        _guarded(folder / LOCK, _open)
        if fcntl is None:
            os.close(fd)
            yield bound
            return
        with os.fdopen(fd, "a+b") as f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise BatchError(
                    f"another batch is running in {str(folder)!r}; wait for it or choose another --output-dir"
                ) from None
            try:
                yield bound
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)
