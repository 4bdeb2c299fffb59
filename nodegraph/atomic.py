"""Writing a file so that readers see the old file or the new one, never half of one: a
temporary file in the same folder, fsync, rename over the target, fsync the folder.

The one implementation behind projects, exports, checkpoints, training state and manifests."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

try:
    import fcntl
except ImportError:  # not POSIX: stale temporary files are recognised by age alone
    fcntl = None

TEMP_SUFFIX = ".nodegraph-tmp"
# A temporary file no writer holds (POSIX lock) and older than this was left by a killed writer.
STALE_TEMP_SECONDS = 2.0 if fcntl is not None else 24 * 3600.0
# Asked for when the temporary file is created; the kernel takes the umask off, so the file
# gets the user's usual mode without reading or changing the process-wide umask.
FILE_MODE = 0o666
_CREATE_FLAGS = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
)


@contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """`with atomic_file(p) as f: f.write(...)`: the bytes written become `p` at the end of the
    block (flushed, fsynced, renamed); an exception leaves the old `p` and no temporary file.
    Temporary files a killed writer left in the folder are removed first (clean_stale_temps)."""
    path = Path(path)
    clean_stale_temps(path.parent)
    fd, tmp = _create_temp(path)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)  # held until renamed: tells cleaners the writer lives
        with os.fdopen(fd, "wb", closefd=False) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)
    _fsync_dir(path.parent)


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Writes `data` to `path` atomically (see atomic_file)."""
    with atomic_file(path) as f:
        f.write(data)


def clean_stale_temps(folder: str | os.PathLike) -> list[Path]:
    """Removes the temporary files of atomic_file that no live writer holds (a kill mid-write
    leaves one); returns what it removed. A writer holds a lock on its file until the rename."""
    removed = []
    try:
        entries = [e for e in os.scandir(folder) if e.name.startswith(".") and e.name.endswith(TEMP_SUFFIX)]
    except OSError:
        return removed
    for entry in entries:
        if _is_stale(entry):
            Path(entry.path).unlink(missing_ok=True)
            removed.append(Path(entry.path))
    return removed


def _create_temp(path: Path) -> tuple[int, str]:
    """A new file `.NAME.<random>.nodegraph-tmp` beside `path`, opened for writing."""
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}"
        try:
            return os.open(tmp, _CREATE_FLAGS, FILE_MODE), str(tmp)
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file beside {path}")


def _is_stale(entry: os.DirEntry) -> bool:
    try:
        if not entry.is_file(follow_symlinks=False):
            return False
        if time.time() - entry.stat(follow_symlinks=False).st_mtime < STALE_TEMP_SECONDS:
            return False  # a writer may be between creating its file and locking it
        if fcntl is None:
            return True
        fd = os.open(entry.path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False  # a live writer holds it
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    """Makes the rename itself durable (best effort; not every platform can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
