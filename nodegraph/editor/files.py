"""Files: New, Open (projects and PNGs that Export wrote), Save, Save As, recent files, and
the prompt before unsaved changes are lost. Recent files live in
$NODEGRAPH_CONFIG_DIR/recent.json (default ~/.config/nodegraph)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import dearpygui.dearpygui as dpg

from nodegraph import Graph, GraphError, ProjectError

if TYPE_CHECKING:
    from nodegraph.editor.app import Editor

RECENT_MAX = 10
PROJECT_SUFFIX = ".ngproj.json"


def config_dir() -> Path:
    return Path(os.environ.get("NODEGRAPH_CONFIG_DIR") or Path.home() / ".config" / "nodegraph")


class Files:
    """Project file actions for one Editor; every failure goes to the status bar, never raises."""

    def __init__(self, editor: Editor) -> None:
        self.editor = editor
        self.recent: list[str] = self._read_recent()
        self._after_confirm: Callable[[], None] | None = None
        self._build_dialogs()

    # --- actions -------------------------------------------------------------------------
    def new(self) -> None:
        self.guard(lambda: self.editor.set_graph(Graph(), "new project"))

    def open(self, path: str | os.PathLike, confirm: bool = True) -> bool:
        """Opens a project file or a PNG with an embedded project; False (and a status) on failure."""
        if confirm and self.editor.graph.dirty:
            self.guard(lambda: self.open(path, confirm=False))
            return False
        path = Path(path)
        try:
            graph = Graph.load(path)
        except (ProjectError, GraphError, OSError) as exc:
            self.editor.report_error(str(exc))
            return False
        self.editor.set_graph(graph, f"opened {path}")
        self.add_recent(path)
        return True

    def save(self) -> bool:
        g = self.editor.graph
        if not g.path:
            self.show_save_dialog()
            return False
        return self.save_as(g.path)

    def save_as(self, path: str | os.PathLike) -> bool:
        path = Path(path)
        if path.suffix.lower() == ".png" or not path.name.endswith(".json"):
            path = path.with_name(path.name.removesuffix(".png") + PROJECT_SUFFIX)
        try:
            self.editor.graph.save(path)
        except (ProjectError, OSError) as exc:
            self.editor.report_error(str(exc))
            return False
        self.editor.status(f"saved {path}")
        self.add_recent(path)
        self.editor.update_title()
        return True

    def guard(self, action: Callable[[], None]) -> None:
        """Runs `action` now, or after the user chose Save or Discard when there are unsaved edits."""
        if not self.editor.graph.dirty:
            action()
            return
        self._after_confirm = action
        dpg.configure_item(self.confirm_window, show=True)
        vw, vh = dpg.get_viewport_client_width(), dpg.get_viewport_client_height()
        dpg.set_item_pos(self.confirm_window, [max(0, vw // 2 - 180), max(0, vh // 2 - 60)])

    def confirm(self, choice: str) -> None:
        """The unsaved-changes prompt's answer: "save", "discard" or "cancel"."""
        dpg.configure_item(self.confirm_window, show=False)
        action, self._after_confirm = self._after_confirm, None
        if action is None or choice == "cancel":
            return
        if choice == "save" and not self.save():
            return
        action()

    # --- recent files --------------------------------------------------------------------
    @property
    def recent_path(self) -> Path:
        return config_dir() / "recent.json"

    def _read_recent(self) -> list[str]:
        try:
            data = json.loads(self.recent_path.read_text())
            return [str(p) for p in data if isinstance(p, str)][:RECENT_MAX]
        except (OSError, ValueError, TypeError):
            return []

    def add_recent(self, path: str | os.PathLike) -> None:
        path = str(Path(path).resolve())
        self.recent = self._read_recent()
        self.recent = [path] + [p for p in self.recent if p != path][: RECENT_MAX - 1]
        try:
            self.recent_path.parent.mkdir(parents=True, exist_ok=True)
            self.recent_path.write_text(json.dumps(self.recent, indent=1))
        except OSError as exc:
            self.editor.log(f"could not write {self.recent_path}: {exc}")
        self.fill_recent_menu()

    def fill_recent_menu(self) -> None:
        menu = self.editor.recent_menu
        if menu is None:
            return
        dpg.delete_item(menu, children_only=True)
        if not self.recent:
            dpg.add_menu_item(label="(none)", enabled=False, parent=menu)
        for path in self.recent:
            dpg.add_menu_item(
                label=path, parent=menu, callback=lambda s, a, u: self.open(u), user_data=path
            )

    # --- dialogs -------------------------------------------------------------------------
    def _build_dialogs(self) -> None:
        with dpg.file_dialog(
            show=False,
            callback=self._opened,
            width=720,
            height=440,
            modal=True,
            label="Open project or PNG",
        ) as self.open_dialog:
            dpg.add_file_extension("Projects and PNGs{.json,.png}")
            dpg.add_file_extension(".json")
            dpg.add_file_extension(".png")
            dpg.add_file_extension(".*")
        with dpg.file_dialog(
            show=False, callback=self._saved, width=720, height=440, modal=True, label="Save project as",
            default_filename="untitled.ngproj",
        ) as self.save_dialog:  # fmt: skip
            dpg.add_file_extension(".json")
        with dpg.window(
            label="Unsaved changes", modal=True, show=False, no_resize=True, width=360
        ) as self.confirm_window:
            dpg.add_text("The project has unsaved changes.")
            with dpg.group(horizontal=True):
                dpg.add_button(label="Save", width=100, callback=lambda: self.confirm("save"))
                dpg.add_button(label="Discard", width=100, callback=lambda: self.confirm("discard"))
                dpg.add_button(label="Cancel", width=100, callback=lambda: self.confirm("cancel"))

    def show_open_dialog(self) -> None:
        self.guard(lambda: dpg.configure_item(self.open_dialog, show=True))

    def show_save_dialog(self) -> None:
        dpg.configure_item(self.save_dialog, show=True)

    def _opened(self, sender: int, app_data: dict) -> None:
        path = app_data.get("file_path_name")
        if path:
            self.open(path, confirm=False)

    def _saved(self, sender: int, app_data: dict) -> None:
        path = app_data.get("file_path_name")
        if path:
            self.save_as(path)
