"""Files: New, Open (projects, PNGs that Export wrote and animated WebPs that ExportAnimation
wrote), Save, Save As, recent files, and the prompt before unsaved changes are lost. Recent
files live in $NODEGRAPH_CONFIG_DIR/recent.json (default ~/.config/nodegraph)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import dearpygui.dearpygui as dpg

from nodegraph import Graph, GraphError, ProjectError
from nodegraph.atomic import atomic_write
from nodegraph.editor.queries import DEFAULT_PROJECT_NAME, first_point_editor, project_path
from nodegraph.views import starters

if TYPE_CHECKING:
    from nodegraph.editor.host import Host

RECENT_MAX = 10


def save_as_suggestion(path: str | os.PathLike | None) -> Path:
    """What Save As offers: the open project's own file, else untitled.ngproj.json here."""
    return Path(path) if path else Path.cwd() / DEFAULT_PROJECT_NAME


def start_graph() -> Graph:
    """A newcomer's start: the first starter graph a node package declared (nodegraph.views),
    marked saved; an empty graph when none did."""
    g = Graph()
    g.registry.types()  # loads the node packages, which declare their starters
    build = next(iter(starters().values()), None)
    if build is not None:
        build(g)
        g.mark_clean()
    return g


def config_dir() -> Path:
    return Path(os.environ.get("NODEGRAPH_CONFIG_DIR") or Path.home() / ".config" / "nodegraph")


class Files:
    """Project file actions for one Editor; every failure goes to the status bar, never raises."""

    def __init__(self, host: Host, recent_menu: int | str | None = None) -> None:
        self.editor = host
        self.recent_menu = recent_menu
        self.recent: list[str] = self._read_recent()
        self._after_confirm: Callable[[], None] | None = None
        self._after_save: Callable[[], None] | None = None  # what asked for the Save dialog
        self._build_dialogs()

    # --- actions -------------------------------------------------------------------------
    def new(self) -> None:
        self.guard(lambda: self.editor.set_graph(Graph(), "new project"))

    def new_start(self) -> None:
        """A new project holding the ready starter graph (File > New from starter)."""

        def start() -> None:
            g = start_graph()
            self.editor.set_graph(g, "new graph from the starter: set its points, then Run")
            self.editor.select(first_point_editor(g) or self.editor.selected)

        self.guard(start)

    def open(self, path: str | os.PathLike, confirm: bool = True) -> bool:
        """Opens a project file or a PNG or WebP with an embedded project; False (and a status) on failure."""
        if confirm and self.editor.graph.dirty:
            self.guard(lambda: self.open(path, confirm=False))
            return False
        path = Path(path)
        try:
            graph = Graph.load(path)
        except (ProjectError, GraphError, OSError) as exc:
            self.editor.report_error(str(exc))
            return False
        from_image = None if graph.path else str(path)  # a PNG that carries its project
        self.editor.set_graph(graph, f"opened {path}", opened_from=from_image)
        self.add_recent(path)
        return True

    def save(self, then: Callable[[], None] | None = None) -> bool:
        """Saves to the project's file, or asks for one (then runs `then` once it is saved)."""
        g = self.editor.graph
        if not g.path:
            self.show_save_dialog(then)
            return False
        ok = self.save_as(g.path)
        if ok and then is not None:
            then()
        return ok

    def save_as(self, path: str | os.PathLike) -> bool:
        path = project_path(path)
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
        if choice == "save":
            self.save(then=action)  # an untitled project asks for a name first, then goes on
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
            atomic_write(self.recent_path, json.dumps(self.recent, indent=1).encode())
        except OSError as exc:
            self.editor.log(f"could not write {self.recent_path}: {exc}")
        self.fill_recent_menu()

    def fill_recent_menu(self) -> None:
        menu = self.recent_menu
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
            label="Open project, PNG or WebP",
        ) as self.open_dialog:
            dpg.add_file_extension("Projects and images{.json,.png,.webp}")
            dpg.add_file_extension(".json")
            dpg.add_file_extension(".png")
            dpg.add_file_extension(".webp")
            dpg.add_file_extension(".*")
        # Save As is a plain name field: Dear PyGui's file dialog drops the dots of a default
        # name and glues its filter onto a typed one (untitledngprojjson, mine.*.ngproj.json).
        with dpg.window(
            label="Save project as", modal=True, show=False, width=560, no_resize=True
        ) as self.save_dialog:
            dpg.add_text("File (NAME saves NAME.ngproj.json; a folder path may come first):")
            self.save_name = dpg.add_input_text(width=-1, on_enter=True, callback=self._saved)
            with dpg.group(horizontal=True):
                dpg.add_button(label="Save", width=100, callback=self._saved)
                dpg.add_button(label="Cancel", width=100, callback=self._save_cancelled)
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

    def show_save_dialog(self, then: Callable[[], None] | None = None) -> None:
        self._after_save = then
        dpg.set_value(self.save_name, str(save_as_suggestion(self.editor.graph.path)))
        dpg.configure_item(self.save_dialog, show=True)
        dpg.focus_item(self.save_name)

    @property
    def dialog_open(self) -> bool:
        """A file dialog or the unsaved-changes prompt is up (keys belong to it)."""
        return any(
            dpg.is_item_shown(item)
            for item in (self.open_dialog, self.save_dialog, self.confirm_window)
        )

    def _opened(self, sender: int, app_data: dict) -> None:
        path = app_data.get("file_path_name")
        if path:
            self.open(path, confirm=False)

    def _saved(self, *args: object) -> None:
        path = dpg.get_value(self.save_name).strip()
        if not path:
            self.editor.status("type a file name to save as", (255, 170, 60))
            return
        dpg.configure_item(self.save_dialog, show=False)
        then, self._after_save = self._after_save, None
        if self.save_as(path) and then is not None:
            then()

    def _save_cancelled(self, *args: object) -> None:
        dpg.configure_item(self.save_dialog, show=False)
        self._after_save = None
