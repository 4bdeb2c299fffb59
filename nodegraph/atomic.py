"""Writing a file so that readers see the old file or the new one, never half of one: a
temporary file in the same folder, fsync, rename over the target, fsync the folder.

The one implementation behind projects, exports, checkpoints, training state and manifests;
`atomic_file_at` writes relative to an open folder (nodegraph/bound.py binds runs' writes so)."""

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
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW | CLOEXEC
# Folders can be opened and named relative to (POSIX); elsewhere names are whole paths.
DIR_FD = (
    hasattr(os, "O_DIRECTORY")
    and os.open in os.supports_dir_fd
    and os.rename in os.supports_dir_fd  # os.replace takes the same
)


@contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """`with atomic_file(p) as f: f.write(...)`: the bytes written become `p` at the end of the
    block (flushed, fsynced, renamed); an exception leaves the old `p` and no temporary file.
    Temporary files a killed writer left in the folder are removed first (clean_stale_temps)."""
    path = Path(path)
    if not DIR_FD:
        with atomic_file_at(None, str(path)) as f:
            yield f
        return
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | CLOEXEC)
    try:
        with atomic_file_at(folder, path.name) as f:
            yield f
    finally:
        os.close(folder)


@contextmanager
def atomic_file_at(dir_fd: int | None, name: str) -> Iterator[BinaryIO]:
    """atomic_file for `name` in the open folder `dir_fd`: the temporary file, the rename and the
    fsync all name that folder, so nothing a path resolves to later can redirect them. With
    dir_fd None, `name` is a whole path (platforms without dir_fd)."""
    clean_stale_temps(dir_fd if dir_fd is not None else os.path.dirname(name) or ".")
    fd, tmp = _create_temp(dir_fd, name)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)  # held until renamed: tells cleaners the writer lives
        with os.fdopen(fd, "wb", closefd=False) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        try:
            os.unlink(tmp, dir_fd=dir_fd)
        except FileNotFoundError:
            pass
        raise
    finally:
        os.close(fd)
    _fsync_dir(dir_fd, os.path.dirname(name))


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Writes `data` to `path` atomically (see atomic_file)."""
    with atomic_file(path) as f:
        f.write(data)


def clean_stale_temps(folder: str | os.PathLike | int) -> list[str]:
    """Removes the temporary files of atomic_file that no live writer holds (a kill mid-write
    leaves one) from `folder` (a path or an open folder's descriptor); returns their names. A
    writer holds a lock on its file until the rename."""
    removed = []
    dir_fd = folder if isinstance(folder, int) else None
    try:
        entries = [
            e for e in os.scandir(folder) if e.name.startswith(".") and e.name.endswith(TEMP_SUFFIX)
        ]
    except OSError:
        return removed
    for entry in entries:
        target = entry.name if dir_fd is not None else entry.path
        if _is_stale(entry, target, dir_fd):
            try:
                os.unlink(target, dir_fd=dir_fd)
            except FileNotFoundError:
                continue
            removed.append(target)
    return removed


def _create_temp(dir_fd: int | None, name: str) -> tuple[int, str]:
    """A new file `.NAME.<random>.nodegraph-tmp` beside `name`, opened for writing."""
    head, tail = os.path.split(name)
    for _ in range(100):
        tmp = os.path.join(head, f".{tail}.{secrets.token_hex(6)}{TEMP_SUFFIX}")
        try:
            return os.open(tmp, _CREATE_FLAGS, FILE_MODE, dir_fd=dir_fd), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file beside {name}")


def _is_stale(entry: os.DirEntry, target: str, dir_fd: int | None) -> bool:
    try:
        if not entry.is_file(follow_symlinks=False):
            return False
        if time.time() - entry.stat(follow_symlinks=False).st_mtime < STALE_TEMP_SECONDS:
            return False  # a writer may be between creating its file and locking it
        if fcntl is None:
            return True
        fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | NOFOLLOW | CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False  # a live writer holds it
    finally:
        os.close(fd)


def _fsync_dir(dir_fd: int | None, folder: str) -> None:
    """Makes the rename itself durable (best effort; not every platform can open a folder)."""
    if dir_fd is not None:
        try:
            os.fsync(dir_fd)
        except OSError:
            pass
        return
    try:
        fd = os.open(folder or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
