"""Help > Shortcuts: a window listing the shortcut table (editor.shortcuts), so the help is the
same data the keys dispatch on."""

from __future__ import annotations

import dearpygui.dearpygui as dpg

from nodegraph.editor.shortcuts import help_rows


class HelpWindow:
    """The shortcut list; hidden until Help > Shortcuts."""

    def __init__(self, theme: int) -> None:
        with dpg.window(
            label="Shortcuts", show=False, width=460, height=430, no_collapse=True, pos=(300, 120)
        ) as self.window:
            with dpg.table(header_row=True, borders_innerH=True) as self.table:
                dpg.add_table_column(label="keys", width_fixed=True, init_width_or_weight=140)
                dpg.add_table_column(label="does")
                for keys, what in help_rows():
                    with dpg.table_row():
                        dpg.add_text(keys, color=(240, 200, 90))
                        dpg.add_text(what, wrap=290)
            dpg.add_text(
                "Image panel: click a handle then its target; drag a point to move it; right "
                "click deletes a pair. Mask: paint left, erase right, wheel sets the radius.",
                wrap=430, color=(150, 150, 160),
            )  # fmt: skip
        dpg.bind_item_theme(self.window, theme)

    def show(self) -> None:
        dpg.configure_item(self.window, show=True)
        dpg.focus_item(self.window)

    def rows(self) -> list[tuple[str, str]]:
        """The (keys, does) texts the table shows, read back from its widgets."""
        rows = []
        for row in dpg.get_item_children(self.table, 1) or []:
            cells = dpg.get_item_children(row, 1) or []
            rows.append(tuple(dpg.get_value(c) for c in cells[:2]))
        return rows
