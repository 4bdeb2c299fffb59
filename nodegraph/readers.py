"""Reading files that untrusted projects name: regular files only (a FIFO never ends, a device
may never end), sizes and JSON depth bounded (docs/PROJECTS.md, "Limits")."""

from __future__ import annotations

import io
import json
import math
import os
import re
import stat
from typing import Any

from nodegraph.budgets import (
    MAX_JSON_CONTAINERS,
    MAX_JSON_DEPTH,
    MAX_JSON_VALUES,
    MAX_PROJECT_BYTES,
    MAX_SIDECAR_BYTES,
    brief,
)

__all__ = ["MAX_JSON_DEPTH", "MAX_PROJECT_BYTES", "MAX_SIDECAR_BYTES", "InputRefused"]

_JSON_STRING = re.compile(r'"[^"]*"')  # once escaped backslashes and quotes are removed

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
    """A JSON document of at most `max_bytes` and `max_depth` levels, MAX_JSON_CONTAINERS objects
    and lists and MAX_JSON_VALUES values (counted on the text, before anything is built), its
    numbers finite (no NaN, Infinity or 1e400); InputRefused (a ValueError) saying which limit,
    ValueError for bad JSON."""
    if len(text) > max_bytes:
        raise InputRefused(f"{what} is {len(text):,} bytes; the limit is {max_bytes:,}")
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8")
    check_json_counts(text, what)
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise InputRefused(f"{what} is nested deeper than {max_depth} levels") from None
    depth = json_depth(value, stop_after=max_depth)
    if depth > max_depth:
        raise InputRefused(f"{what} is nested deeper than {max_depth} levels")
    return value


def check_json_counts(text: str, what: str) -> None:
    """InputRefused when the JSON text holds more objects and lists than MAX_JSON_CONTAINERS or
    more values than MAX_JSON_VALUES. Counted with strings blanked out, so a brace inside a
    string does not count; a few bytes per value ("[{},{},...]") can not build gigabytes."""
    unescaped = text.replace("\\\\", "").replace('\\"', "")  # left: the strings' own quotes
    strings = unescaped.count('"') // 2
    if strings > MAX_JSON_VALUES:
        raise InputRefused(f"{what} holds {strings:,} strings; the limit is {MAX_JSON_VALUES:,}")
    bare = _JSON_STRING.sub("0", unescaped)
    del unescaped
    containers = bare.count("[") + bare.count("{")
    if containers > MAX_JSON_CONTAINERS:
        raise InputRefused(
            f"{what} holds {containers:,} objects and lists; the limit is {MAX_JSON_CONTAINERS:,}"
        )
    values = bare.count(",") + containers + 1
    if values > MAX_JSON_VALUES:
        raise InputRefused(f"{what} holds {values:,} values; the limit is {MAX_JSON_VALUES:,}")


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


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(
            f"the number {brief(text)} is out of range (numbers must be finite, within ±1.8e308)"
        )
    return value
