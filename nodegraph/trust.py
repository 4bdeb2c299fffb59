"""The trust rule (docs/PROJECTS.md, "Trust rule"): a project file is someone else's data, so it
writes only inside its output folder and never replaces a foreign file, unless the user allows it.

Permissions come from the user (command-line flags, the editor's dialog), never from a project."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from nodegraph.errors import ProjectError

ALLOW_OUTSIDE_FLAG = "--allow-outside"
ALLOW_FOREIGN_FLAG = "--allow-overwrite-foreign"
DOWNLOAD_FLAG = "--download"


@dataclass(frozen=True)
class Permissions:
    """What the user allows a run beyond the trust rule.

    write_outside: write files outside the output folder (absolute paths, `..`, `~`, symlinks).
    overwrite_foreign: replace files nodegraph did not write, where the node asks to.
    download: fetch a model the project names that is not in the model cache."""

    write_outside: bool = False
    overwrite_foreign: bool = False
    download: bool = False

    @classmethod
    def everything(cls) -> Permissions:
        """For a graph the user builds in code or in the editor: its paths are the user's own.
        A download (hundreds of MB from a server) stays a choice made each time: not included."""
        return cls(write_outside=True, overwrite_foreign=True)


class TrustError(ProjectError):
    """A project asked for something only the user can allow; `permission` names the
    Permissions field that would allow it (what the editor's dialog offers)."""

    def __init__(
        self,
        message: str,
        node: str,
        param: str,
        target: str,
        permission: str,
        path: str | None = None,
    ) -> None:
        self.target = target
        self.permission = permission
        self.param = param
        super().__init__(message, path, node, f"params.{param}")


def confine(
    raw: str | os.PathLike,
    folder: Path,
    permissions: Permissions,
    node: str,
    param: str,
    source: str | None = None,
) -> Path:
    """The absolute path that `raw` (a param value, relative to `folder`) names. TrustError when
    it leaves `folder` (once symlinks are followed) and the user did not allow that."""
    text = os.fspath(raw)
    check_path_text(text, node, param, source)
    path = Path(text).expanduser()
    path = path if path.is_absolute() else folder / path
    if permissions.write_outside or _inside(path, folder):
        return path
    raise TrustError(
        f"{text!r} leaves the output folder ({_why(text, path, folder)}): use a relative path "
        f"inside it, or run with {ALLOW_OUTSIDE_FLAG} if you trust this project",
        node, param, str(path), "write_outside", source,
    )  # fmt: skip


def check_path_text(text: str, node: str, param: str, source: str | None = None) -> None:
    """ProjectError naming the node and param when `text` cannot be a file name at all: a NUL
    character, or a lone surrogate (text no file system can encode)."""
    why = "contains a NUL character" if "\0" in text else None
    if why is None:
        try:
            os.fsencode(text)
        except UnicodeError:
            why = "contains a character no file name can hold (a lone UTF-16 surrogate)"
    if why is not None:
        shown = ascii(text[:80]) + ("..." if len(text) > 80 else "")
        raise ProjectError(
            f"the path {shown} {why}: give a plain relative path", source, node, f"params.{param}"
        )


def is_inside(path: str | os.PathLike, folder: str | os.PathLike) -> bool:
    """True when `path`, symlinks followed, lies in `folder` (or is it)."""
    return _inside(Path(path), Path(folder))


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL: not provably inside
        return False


def _why(text: str, path: Path, folder: Path) -> str:
    if text.startswith("~"):
        return "it starts with ~, your home folder"
    if Path(text).is_absolute():
        return "it is an absolute path"
    if ".." in Path(text).parts:
        return "it climbs out with .."
    return f"it goes through a symbolic link to {str(path.resolve())!r}"
