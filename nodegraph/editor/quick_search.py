"""Quick search (Tab over the canvas): a small window that lists node types as the user types;
arrows move the highlight, Enter adds the highlighted type, Escape closes it."""

from __future__ import annotations

from collections.abc import Callable

import dearpygui.dearpygui as dpg

from nodegraph import Graph
from nodegraph.editor.queries import search_types


class QuickSearch:
    """Owns the search window, its matches and highlight; adds a node through `add`."""

    def __init__(
        self,
        graph: Callable[[], Graph],
        add: Callable[[str], str | None],
        report_error: Callable[[str], None],
        theme: int,
    ) -> None:
        self._graph, self._add, self._report_error = graph, add, report_error
        self.matches: list[str] = []
        self.index = 0
        with dpg.window(
            label="Add node", show=False, width=300, height=260, no_collapse=True
        ) as self.window:
            self.input = dpg.add_input_text(
                hint="type; arrows pick, Enter adds", width=-1,
                callback=lambda s, v: self._filter(v),
            )  # fmt: skip
            self.list = dpg.add_listbox(
                [], width=-1, num_items=9, callback=lambda s, v: self._pick(v)
            )
        dpg.bind_item_theme(self.window, theme)

    @property
    def shown(self) -> bool:
        return bool(dpg.is_item_shown(self.window))

    def open(self) -> None:
        mx, my = dpg.get_mouse_pos(local=False)
        dpg.configure_item(self.window, show=True, pos=[int(mx), int(my)])
        dpg.set_value(self.input, "")
        self._filter("")
        dpg.focus_item(self.input)

    def close(self) -> None:
        dpg.configure_item(self.window, show=False)

    def search(self, query: str) -> list[str]:
        """Type names matching `query`, best first (queries.search_types)."""
        return search_types(self._graph(), query)

    def add(self, query: str) -> str | None:
        """Adds the highlighted match of `query` (the first when the query changed)."""
        matches = self.search(query)
        if not matches:
            self._report_error(f"no node type matches {query!r}")
            return None
        if matches != self.matches:
            self.matches, self.index = matches, 0
        self.close()
        return self._add(matches[self.index])

    @property
    def highlighted(self) -> str | None:
        """The highlighted type: what Enter adds."""
        return self.matches[self.index] if self.matches else None

    def on_key(self, key: int) -> bool:
        """Keys of the open search: Escape closes it (and nothing else), arrows move the
        highlight, Enter adds the highlighted type. True when the key was the search's."""
        if key == dpg.mvKey_Escape:
            self.close()
        elif key in (dpg.mvKey_Down, dpg.mvKey_Up):
            self._highlight(self.index + (1 if key == dpg.mvKey_Down else -1))
        elif key in (dpg.mvKey_Return, dpg.mvKey_NumPadEnter):
            self.add(dpg.get_value(self.input))
        else:
            return False
        return True

    def _filter(self, query: str) -> None:
        self.matches = self.search(query)
        dpg.configure_item(self.list, items=self.matches)
        self._highlight(0)

    def _highlight(self, index: int) -> None:
        if not self.matches:
            return
        self.index = max(0, min(len(self.matches) - 1, index))
        dpg.set_value(self.list, self.matches[self.index])

    def _pick(self, name: str) -> None:
        self.close()
        self._add(name)
