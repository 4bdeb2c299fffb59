"""The editor's keyboard shortcuts as data: one table that dispatches keys, labels the menus and
fills Help > Shortcuts, so what the help says is what the keys do.

`scope`: "always" (even while a field has the keyboard), "edit" (not while typing), "canvas"
(not while typing, and the pointer over the canvas)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import dearpygui.dearpygui as dpg


@dataclass(frozen=True)
class Shortcut:
    keys: str  # as shown to the user, e.g. "Ctrl+Shift+S"
    action: str  # the editor action it calls (Editor.actions)
    what: str
    scope: str = "edit"

    @property
    def key(self) -> str:
        return self.keys.rsplit("+", 1)[-1] if not self.keys.endswith("++") else "+"

    @property
    def ctrl(self) -> bool:
        return "Ctrl+" in self.keys

    @property
    def shift(self) -> bool:
        return "Shift+" in self.keys


SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("Ctrl+N", "new", "new project (asks to save changes)", "always"),
    Shortcut("Ctrl+O", "open", "open a project or a PNG written by Export", "always"),
    Shortcut("Ctrl+S", "save", "save the project", "always"),
    Shortcut("Ctrl+Shift+S", "save_as", "save the project under a new name", "always"),
    Shortcut("Ctrl+Q", "quit", "quit (asks to save changes)", "always"),
    Shortcut("Ctrl+Enter", "run", "run: compute the outputs and every image", "always"),
    Shortcut("Ctrl+Shift+Enter", "continue", "continue a drag as a new stage", "always"),
    Shortcut("Esc", "stop", "stop the run; a drag keeps its result so far", "always"),
    Shortcut("Ctrl+Z", "undo", "undo"),
    Shortcut("Ctrl+Shift+Z", "redo", "redo"),
    Shortcut("Ctrl+Y", "redo", "redo"),
    Shortcut("Ctrl+D", "duplicate", "duplicate the selected nodes"),
    Shortcut("Del", "delete", "delete the selected nodes and links", "canvas"),
    Shortcut("Backspace", "delete", "delete the selected nodes and links", "canvas"),
    Shortcut("Tab", "quick_search", "quick search: add a node by typing its name", "canvas"),
    Shortcut("F", "fit", "frame every node (lay them out if they overlap or do not fit)", "canvas"),
)

_DPG_KEYS = {
    "Enter": ("mvKey_Return", "mvKey_NumPadEnter"),
    "Esc": ("mvKey_Escape",),
    "Del": ("mvKey_Delete",),
    "Backspace": ("mvKey_Back",),
    "Tab": ("mvKey_Tab",),
}


def key_codes(name: str) -> set[int]:
    """Dear PyGui's key codes for a key as the table names it."""
    names = _DPG_KEYS.get(name, (f"mvKey_{name}",))
    return {getattr(dpg, n) for n in names if hasattr(dpg, n)}


def match(key: int, ctrl: bool, shift: bool) -> Shortcut | None:
    """The shortcut for a key pressed with these modifiers (exact modifiers), or None."""
    for shortcut in SHORTCUTS:
        if shortcut.ctrl == ctrl and shortcut.shift == shift and key in key_codes(shortcut.key):
            return shortcut
    return None


def first_for(action: str) -> str:
    """The keys shown beside a menu item for `action`."""
    return next((s.keys for s in SHORTCUTS if s.action == action), "")


def dispatch(
    key: int,
    ctrl: bool,
    shift: bool,
    actions: dict[str, Callable[[], object]],
    typing: bool,
    over_canvas: bool,
) -> str | None:
    """Calls the action of the shortcut for this key where its scope allows; its name, else None."""
    shortcut = match(key, ctrl, shift)
    if shortcut is None:
        return None
    if shortcut.scope != "always" and typing:
        return None
    if shortcut.scope == "canvas" and not over_canvas:
        return None
    actions[shortcut.action]()
    return shortcut.action


def help_rows() -> list[tuple[str, str]]:
    """(keys, what) for Help > Shortcuts."""
    return [(s.keys, s.what) for s in SHORTCUTS]


class Modifiers:
    """Ctrl and Shift as the queued key events left them: an instant chord (Ctrl down, Enter
    down, both up within a frame) still reads Ctrl held when Enter's callback runs, which a
    poll of the key state at that later moment would miss."""

    def __init__(self) -> None:
        self.ctrl = self.shift = False
        ctrl = (dpg.mvKey_LControl, dpg.mvKey_RControl)
        shift = (dpg.mvKey_LShift, dpg.mvKey_RShift)
        with dpg.handler_registry():
            for code in ctrl:
                dpg.add_key_press_handler(code, callback=lambda: setattr(self, "ctrl", True))
                dpg.add_key_release_handler(code, callback=lambda: setattr(self, "ctrl", False))
            for code in shift:
                dpg.add_key_press_handler(code, callback=lambda: setattr(self, "shift", True))
                dpg.add_key_release_handler(code, callback=lambda: setattr(self, "shift", False))
