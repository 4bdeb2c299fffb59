"""Writes bound to the folder they were checked in (docs/PROJECTS.md, "Writes stay where they were
checked"): an output folder opened once, sub-folders and files made relative to that handle.

A symbolic link swapped in at any moment, for a sub-folder or the output folder itself, cannot
redirect a write: every step opens one name with O_NOFOLLOW. Also the per-run write budget."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from nodegraph.atomic import CLOEXEC, DIR_FD, FILE_MODE, NOFOLLOW, atomic_file_at
from nodegraph.errors import ProjectError
from nodegraph.readers import kind_of

# The write budget of one run (`nodegraph run`, one batch job, one editor run): checked against
# an estimate before anything runs, then against each file's bytes before they are written.
MAX_RUN_FILES = 32
MAX_RUN_BYTES = 256 * 2**20

_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | NOFOLLOW | CLOEXEC


class BoundPathError(ProjectError):
    """A write met something other than a real folder or file where it checked one: a symbolic
    link (swapped in, or left there), a file where a folder should be, a bad name."""


class WriteBudgetError(ProjectError):
    """A run would write more files or bytes than the write budget allows."""


@dataclass(frozen=True)
class WriteLimits:
    """How much one run may write: files and bytes (MAX_RUN_FILES, MAX_RUN_BYTES)."""

    files: int = MAX_RUN_FILES
    bytes: int = MAX_RUN_BYTES


class WriteBudget:
    """What one run has written so far against its WriteLimits; `check` refuses a plan or a
    file before anything of it is written."""

    def __init__(self, limits: WriteLimits | None = None) -> None:
        self.limits = limits or WriteLimits()
        self.files = 0
        self.bytes = 0

    def check(self, files: int, nbytes: int, what: str, source: str | None = None) -> None:
        """WriteBudgetError when `files` more files of `nbytes` bytes would pass the budget."""
        over_files = self.files + files > self.limits.files
        if over_files or self.bytes + nbytes > self.limits.bytes:
            have = (f"{self.files + files} files" if over_files
                    else f"{_mib(self.bytes + nbytes)} MiB")  # fmt: skip
            limit = f"{self.limits.files} files" if over_files else f"{_mib(self.limits.bytes)} MiB"
            raise WriteBudgetError(
                f"{what} would make this run write {have}, past the write budget of {limit} per "
                "run (docs/PROJECTS.md, write budget); nothing was written for it: write fewer or "
                "smaller files (fewer Export nodes, a smaller embedded project)",
                source,
            )

    def charge(self, nbytes: int, what: str) -> None:
        """Counts one file of `nbytes` (after `check` passes for it)."""
        self.check(1, nbytes, what)
        self.files += 1
        self.bytes += nbytes


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f}"


class BoundFolder:
    """An open folder (its descriptor) and the path it was opened by (for messages). Use as a
    context manager, or close(); folders opened from it are closed separately."""

    def __init__(self, fd: int | None, path: Path) -> None:
        self.fd = fd  # None where the platform has no dir_fd: then names are joined to path
        self.path = path

    @classmethod
    def open(cls, path: str | os.PathLike, create: bool = True) -> BoundFolder:
        """Opens `path` (made, with its parents, when `create`); its last part must be a real
        folder, not a symbolic link. The parents are the user's own (resolved by the caller)."""
        path = Path(path)
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.mkdir(path)
            except FileExistsError:
                pass
        if not DIR_FD:
            if path.is_symlink() or not path.is_dir():
                raise _refusal(path, errno.ENOTDIR)
            return cls(None, path)
        try:
            return cls(os.open(path, _DIR_FLAGS), path)
        except OSError as exc:
            raise _refusal(
                path, exc.errno, os.lstat if exc.errno == errno.ENOTDIR else None
            ) from None

    def __enter__(self) -> BoundFolder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def identity(self) -> tuple[int, int]:
        """(device, inode) of the opened folder: another process checks it opened the same one."""
        st = os.fstat(self.fd) if self.fd is not None else os.stat(self.path)
        return st.st_dev, st.st_ino

    def folder(self, parts: Sequence[str], create: bool = True) -> BoundFolder:
        """The sub-folder `parts` (one name each), each made when missing and opened without
        following a symbolic link: BoundPathError when one is a link or not a folder."""
        current = BoundFolder(self.fd, self.path)
        try:
            for part in parts:
                check_name(part, current.path)
                path = current.path / part
                if current.fd is None:
                    if create:
                        path.mkdir(exist_ok=True)
                    if path.is_symlink() or not path.is_dir():
                        raise _refusal(path, errno.ENOTDIR)
                    current = BoundFolder(None, path)
                    continue
                if create:
                    try:
                        os.mkdir(part, dir_fd=current.fd)
                    except FileExistsError:
                        pass
                try:
                    fd = os.open(part, _DIR_FLAGS, dir_fd=current.fd)
                except OSError as exc:
                    lstat = _lstat_in(current.fd, part) if exc.errno == errno.ENOTDIR else None
                    raise _refusal(path, exc.errno, lstat) from None
                if current.fd != self.fd:
                    current.close()
                current = BoundFolder(fd, path)
        except BaseException:
            if current.fd != self.fd:
                current.close()
            raise
        if current.fd == self.fd and self.fd is not None:  # no parts: a handle of its own
            current = BoundFolder(os.dup(self.fd), self.path)
        return current

    def name(self, name: str) -> str:
        """What os functions take for `name` in this folder (with dir_fd=self.fd)."""
        check_name(name, self.path)
        return name if self.fd is not None else str(self.path / name)

    def lstat(self, name: str) -> os.stat_result | None:
        """The entry `name` as it is (a link not followed); None when there is none."""
        try:
            return os.stat(self.name(name), dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    @contextmanager
    def atomic_file(self, name: str) -> Iterator[BinaryIO]:
        """nodegraph.atomic's write of `name` in this folder (temp file, fsync, rename). A folder
        removed while the run went (its handle then names no folder) is a BoundPathError."""
        with ExitStack() as stack:
            try:
                f = stack.enter_context(atomic_file_at(self.fd, self.name(name)))
            except FileNotFoundError as error:
                raise BoundPathError(
                    f"the folder {str(self.path)!r} was removed or replaced while the run went: "
                    "nothing was written there; run again"
                ) from error
            yield f

    def write(self, name: str, data: bytes, budget: WriteBudget | None = None) -> None:
        """Writes `data` as `name` atomically, charged to `budget` before any byte is written."""
        if budget is not None:
            budget.charge(len(data), f"writing {str(self.path / name)!r} ({len(data):,} bytes)")
        with self.atomic_file(name) as f:
            f.write(data)

    def open_file(self, name: str, flags: int) -> int:
        """A descriptor of the regular file `name` (os.open flags; O_NOFOLLOW added): a symbolic
        link or anything not a regular file is a BoundPathError."""
        try:
            fd = os.open(
                self.name(name),
                flags | NOFOLLOW | CLOEXEC | os.O_NONBLOCK,
                FILE_MODE,
                dir_fd=self.fd,
            )
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EMLINK, errno.ENXIO):
                raise _refusal(self.path / name, errno.ELOOP) from None
            raise
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            os.close(fd)
            raise BoundPathError(
                f"{str(self.path / name)!r} is {kind_of(mode)}, not a regular file: remove it or "
                "choose another output folder"
            )
        return fd

    def append(self, name: str, data: bytes) -> None:
        """Appends `data` to `name` (created when missing), fsynced; a failed write (a full disk)
        takes back what it wrote, so no partial line stays."""
        fd = self.open_file(name, os.O_RDWR | os.O_APPEND | os.O_CREAT)
        try:
            size = os.fstat(fd).st_size
            if size:
                os.lseek(fd, -1, os.SEEK_END)
                if os.read(fd, 1) != b"\n":
                    data = b"\n" + data  # a killed writer's half line must not swallow this one
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            except OSError:
                try:
                    os.ftruncate(fd, size)
                except OSError:
                    pass
                raise
        finally:
            os.close(fd)

    def read(self, name: str) -> bytes | None:
        """The bytes of the regular file `name`; None when there is none."""
        try:
            fd = self.open_file(name, os.O_RDONLY)
        except FileNotFoundError:
            return None
        with os.fdopen(fd, "rb") as f:
            return f.read()


def check_name(name: str, folder: Path) -> None:
    """One plain name: no separator, not empty, not `.` or `..`, no NUL."""
    if not name or name in (".", "..") or "/" in name or os.sep in name or "\0" in name:
        raise BoundPathError(f"{name!r} is not a plain file or folder name in {str(folder)!r}")


def parts_within(path: Path, folder: Path) -> tuple[str, ...]:
    """The names leading from `folder` to `path`, both absolute with no symbolic links in them
    (resolved when checked); BoundPathError when `path` is not under `folder`."""
    try:
        return path.relative_to(folder).parts
    except ValueError:
        raise BoundPathError(
            f"{str(path)!r} is not inside the output folder {str(folder)!r}"
        ) from None


def _lstat_in(dir_fd: int, name: str):
    return lambda _path: os.stat(name, dir_fd=dir_fd, follow_symlinks=False)


def _refusal(path: Path, code: int | None, lstat=None) -> BoundPathError | OSError:
    """The error for a folder that would not open: O_NOFOLLOW | O_DIRECTORY on a link gives
    ENOTDIR on Linux, so `lstat` (given for ENOTDIR) tells a link from a file."""
    if code == errno.ENOTDIR and lstat is not None:
        try:
            if stat.S_ISLNK(lstat(path).st_mode):
                code = errno.ELOOP
        except OSError:
            pass
    if code in (errno.ELOOP, errno.EMLINK):
        return BoundPathError(
            f"{str(path)!r} is a symbolic link (left there or swapped in while the run went); a "
            "run writes only through the real folders it checked: remove the link, or choose "
            "another output folder"
        )
    if code in (errno.ENOTDIR, errno.EISDIR):
        return BoundPathError(
            f"{str(path)!r} is not a folder nodegraph can write in (a file, or something else, "
            "stands there): remove it or choose another output folder"
        )
    if code == errno.ENOENT:  # where a run made or found it, most likely moved or removed since
        return BoundPathError(
            f"the folder {str(path)!r} is not there (moved or removed while the run went?): "
            "nothing was written in it; run again"
        )
    return OSError(
        code, f"cannot open the folder {str(path)!r}: {os.strerror(code or 0)}", str(path)
    )


class OutputRoot:
    """A run's output folder and write budget. The folder is opened once: at the start of the run
    when it exists (or given open, by a batch worker), else at the first write."""

    def __init__(
        self, path: Path, limits: WriteLimits | None = None, opened: BoundFolder | None = None
    ) -> None:
        self.path = Path(path)
        self.budget = WriteBudget(limits)
        self._folder = opened
        self._owned = opened is None
        if opened is None and self.path.is_dir():
            self._folder = BoundFolder.open(self.path, create=False)

    def handle(self) -> BoundFolder:
        if self._folder is None:
            self._folder = BoundFolder.open(self.path)
        return self._folder

    def close(self) -> None:
        if self._owned and self._folder is not None:
            self._folder.close()
        self._folder = None
