"""Reading files that untrusted projects name: regular files only (a FIFO never ends, a device
may never end), sizes and JSON depth bounded (docs/PROJECTS.md, "Limits")."""

from __future__ import annotations

import io
import json
import os
import stat
from typing import Any

MAX_PROJECT_BYTES = 64 * 1024**2  # a project's JSON, also when embedded in a PNG
MAX_SIDECAR_BYTES = 1024**3  # a project's tensor file
MAX_JSON_DEPTH = 64  # nesting of objects and lists in a project

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class InputRefused(ValueError):
    """A file or document from outside is not a regular file or is over one of our limits."""


def kind_of(mode: int) -> str:
    """What a stat mode is, in words ("a FIFO (named pipe)", "a folder", ...)."""
    return next((word for test, word in _KINDS if test(mode)), "not a regular file")


def require_regular(path: str | os.PathLike) -> os.stat_result:
    """The stat of `path` (symlinks followed) when it is a regular file; InputRefused before
    anything opens it otherwise. FileNotFoundError when it does not exist."""
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise InputRefused(f"{os.fspath(path)} is {kind_of(st.st_mode)}, not a regular file")
    return st


def open_regular(path: str | os.PathLike) -> io.BufferedReader:
    """Opens a regular file for reading. Checked before opening, and again on the opened file
    (opened non-blocking, so a FIFO swapped in between cannot block)."""
    require_regular(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InputRefused(f"{os.fspath(path)} is {kind_of(mode)}, not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike, limit: int, what: str = "file") -> bytes:
    """All bytes of a regular file of at most `limit` bytes; InputRefused otherwise."""
    with open_regular(path) as f:
        size = os.fstat(f.fileno()).st_size
        data = f.read(limit + 1) if size <= limit else b""
    if size > limit or len(data) > limit:
        raise InputRefused(
            f"{what} {os.fspath(path)} is {max(size, len(data)):,} bytes; the limit is {limit:,}"
        )
    return data


def parse_json(
    text: str | bytes,
    what: str,
    max_bytes: int = MAX_PROJECT_BYTES,
    max_depth: int = MAX_JSON_DEPTH,
) -> Any:
    """A JSON document of at most `max_bytes` and `max_depth` levels, without NaN or Infinity;
    InputRefused (a ValueError) saying which limit, ValueError for bad JSON."""
    if len(text) > max_bytes:
        raise InputRefused(f"{what} is {len(text):,} bytes; the limit is {max_bytes:,}")
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise InputRefused(f"{what} is nested deeper than {max_depth} levels") from None
    depth = json_depth(value, stop_after=max_depth)
    if depth > max_depth:
        raise InputRefused(f"{what} is nested deeper than {max_depth} levels")
    return value


def json_depth(value: Any, stop_after: int | None = None) -> int:
    """Nesting depth of objects and lists (a scalar is 0), without recursion; stops counting
    once past `stop_after`."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        )
        if children is None:
            continue
        deepest = max(deepest, depth)
        if stop_after is not None and deepest > stop_after:
            break
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in a project (numbers must be finite)")
