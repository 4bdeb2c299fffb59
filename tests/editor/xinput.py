"""Real X input for the editor tests: xdotool moves the pointer, presses buttons and keys
(XTest), and each step renders frames until the editor has seen it."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.editor.helpers import pump


def require_xdotool() -> None:
    if shutil.which("xdotool") is None:
        pytest.skip("xdotool is not installed (apt-get install xdotool)")


def xdo(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, timeout=10)


def move(editor, x: int, y: int, frames: int = 2) -> None:
    xdo("mousemove", str(int(x)), str(int(y)))
    pump(editor, frames)


def click(editor, x: int, y: int, button: int = 1) -> None:
    move(editor, x, y)
    xdo("mousedown", str(button))
    pump(editor, 2)
    xdo("mouseup", str(button))
    pump(editor, 2)


def drag(editor, points: list[tuple[int, int]], button: int = 1) -> None:
    """Presses at the first point, moves through the others (a frame after each, as motion
    events arrive at a real user's pace), releases at the last."""
    move(editor, *points[0])
    xdo("mousedown", str(button))
    pump(editor, 2)
    for x, y in points[1:]:
        move(editor, x, y, frames=1)
    pump(editor, 1)
    xdo("mouseup", str(button))
    pump(editor, 3)


def key(editor, *names: str) -> None:
    """Presses keys one after the other (xdotool names: BackSpace, Escape, ctrl+z, ...)."""
    for name in names:
        xdo("key", name)
        pump(editor, 2)


def type_text(editor, text: str) -> None:
    xdo("type", "--delay", "30", text)
    pump(editor, 3)
