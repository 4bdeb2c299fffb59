"""The parameter pane: the selected node's params, edited beside its image (as Houdini's and
Nuke's parameter panes do), so nodes on the canvas stay compact.

Each field edit is one `Graph.set` through the Host. Number fields apply as they change (typing
folds into one undo step); text fields apply when they lose the keyboard (Enter, Tab or a click
elsewhere), and a value the param refuses reverts the field to the graph's value. Tab and
Shift+Tab step through the typed fields and dropdowns in order (Dear PyGui's own Tab skips
dropdowns; checkboxes are clicked); a dropdown reached so takes Up/Down to step its choice."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import dearpygui.dearpygui as dpg

from nodegraph.editor.tips import tip

if TYPE_CHECKING:
    from nodegraph.editor.host import Host

WIDGET_WIDTH = 150
INT_LIMIT = 2**31 - 1  # Dear PyGui int widgets are 32-bit
TEXT_FIELDS = ("mvInputText", "mvInputInt", "mvInputFloat")
TAB_STOPS = (*TEXT_FIELDS, "mvCombo")  # a checkbox takes no keyboard focus in Dear PyGui


class ParamPane:
    """Builds the selected node's param fields and turns their edits into graph edits."""

    def __init__(self, host: Host, parent: int | str) -> None:
        self.editor = host
        self.node: str | None = None
        self.widgets: dict[str, int] = {}
        self.shown: dict[str, Any] = {}
        self._merge_key: tuple | None = None
        self._focus: str | None = None  # the field with the keyboard as the last frame began
        with dpg.group(parent=parent) as self.root:
            self.title = dpg.add_text("Select a node to edit its params", color=(220, 220, 230))
            self.body = dpg.add_group()

    @property
    def graph(self):
        return self.editor.graph

    def show(self, node_id: str | None) -> None:
        """Makes `node_id` the pane's node (None: no node) and builds its fields."""
        if node_id is not None and node_id not in self.graph:
            node_id = None
        if node_id == self.node and (node_id is None or self.widgets or not self._params()):
            self.refresh()
            return
        self.node = node_id
        dpg.delete_item(self.body, children_only=True)
        self.widgets, self.shown = {}, {}
        if node_id is None:
            dpg.set_value(self.title, "Select a node to edit its params")
            return
        cls = self.graph.type_of(node_id)
        dpg.set_value(self.title, f"{node_id}  ({cls.type_name})")
        values = self.graph.params(node_id)
        dpg.push_container_stack(self.body)
        try:
            for decl in cls.params:
                self.widgets[decl.name] = self._widget(node_id, decl, values[decl.name])
                self.shown[decl.name] = values[decl.name]
        finally:
            dpg.pop_container_stack()

    def _params(self) -> list:
        return list(self.graph.type_of(self.node).params) if self.node in self.graph else []

    def refresh(self) -> None:
        """Shows the graph's values (after undo, a script, a Stop) in fields not being typed in."""
        if self.node is None or self.node not in self.graph:
            if self.node is not None:
                self.show(None)
            return
        values = self.graph.params(self.node)
        for decl in self.graph.type_of(self.node).params:
            value, widget = values[decl.name], self.widgets.get(decl.name)
            if widget is None or _same(self.shown.get(decl.name), value):
                continue
            if _active(widget):  # the user is typing there: the field is theirs until left
                continue
            self.shown[decl.name] = value
            kind = dpg.get_item_type(widget)
            if kind.endswith("mvText"):
                dpg.set_value(widget, summary(decl, value))
            elif decl.choices is not None or kind.endswith("mvInputText"):
                dpg.set_value(widget, "" if value is None else str(value))
            else:
                dpg.set_value(widget, value)

    def text_fields(self) -> list[int]:
        """Every field that takes typed text (keys typed there are not shortcuts)."""
        return [
            w
            for w in self.widgets.values()
            if dpg.get_item_type(w).rsplit("::", 1)[-1] in TEXT_FIELDS
        ]

    # --- keyboard: Tab order and a focused dropdown ---------------------------------------
    def remember_focus(self) -> None:
        """Notes the field that has the keyboard before a frame draws: a Tab pressed in that
        frame has already moved Dear PyGui's focus when its callback runs."""
        self._focus = next(
            (name for name, w in self.widgets.items() if _active(w) or _focused(w)), None
        )

    def on_key(self, key: int, shift: bool) -> bool:
        """Tab/Shift+Tab from a field: the next/previous field takes the keyboard; Up/Down on a
        focused dropdown step its choice. True when the key was the pane's."""
        name = self._focus
        if name is None or name not in self.widgets:
            return False
        if key == dpg.mvKey_Tab:
            order = [n for n, w in self.widgets.items() if _item_type(w) in TAB_STOPS]
            step = -1 if shift else 1
            target = self.widgets[order[(order.index(name) + step) % len(order)]]
            dpg.focus_item(target)
            return True
        widget = self.widgets[name]
        if key in (dpg.mvKey_Up, dpg.mvKey_Down) and _item_type(widget) == "mvCombo":
            if not _focused(widget):  # a click elsewhere took the keyboard
                return False
            _, decl = dpg.get_item_user_data(widget)
            choices = [str(c) for c in decl.choices]
            now = dpg.get_value(widget)
            index = choices.index(now) if now in choices else 0
            index = max(0, min(len(choices) - 1, index + (1 if key == dpg.mvKey_Down else -1)))
            if choices[index] != now:
                dpg.set_value(widget, choices[index])
                self._on_param(widget, choices[index], dpg.get_item_user_data(widget))
            return True
        return False

    # --- building ------------------------------------------------------------------------
    def _widget(self, node_id: str, decl: Any, value: Any) -> int:
        kw = dict(label=decl.name, width=WIDGET_WIDTH, user_data=(node_id, decl))
        if decl.choices is not None:
            widget = dpg.add_combo(
                [str(c) for c in decl.choices],
                default_value=str(value),
                callback=self._on_param,
                **kw,
            )
        elif decl.type is bool:
            kw.pop("width")
            widget = dpg.add_checkbox(default_value=bool(value), callback=self._on_param, **kw)
        elif decl.type is int and decl.default is not None:  # one click and type
            lo = max(-INT_LIMIT, int(decl.min)) if decl.min is not None else -INT_LIMIT
            hi = min(INT_LIMIT, int(decl.max)) if decl.max is not None else INT_LIMIT
            widget = dpg.add_input_int(
                default_value=int(value), min_value=lo, max_value=hi,
                min_clamped=True, max_clamped=True, step=0, callback=self._on_param, **kw,
            )  # fmt: skip
        elif decl.type is float and value is not None and decl.default is not None:
            lo = decl.min if decl.min is not None else -math.inf
            hi = decl.max if decl.max is not None else math.inf
            widget = dpg.add_input_float(
                default_value=float(value), min_value=lo, max_value=hi,
                min_clamped=math.isfinite(lo), max_clamped=math.isfinite(hi),
                step=0, format="%.4g", callback=self._on_param, **kw,
            )  # fmt: skip
        elif decl.type in (str, "path", float, int):  # a number with a None default: empty = auto
            widget = dpg.add_input_text(
                default_value="" if value is None else str(value),
                hint="auto" if decl.default is None else "", **kw,
            )  # fmt: skip
            with dpg.item_handler_registry() as handlers:
                dpg.add_item_deactivated_after_edit_handler(
                    callback=lambda s, a, u: self.apply_text(u), user_data=widget
                )
            dpg.bind_item_handler_registry(widget, handlers)
        else:
            widget = dpg.add_text(f"{decl.name}: {summary(decl, value)}", color=(200, 200, 220))
        where = "\nedit it in the image panel" if decl.editor is not None else ""
        allowed = f"{decl.name}: {decl.describe_allowed()}{where}"
        tip(widget, decl.doc + ("\n" if decl.doc else "") + allowed)
        return widget

    # --- fields -> graph -----------------------------------------------------------------
    def apply_text(self, widget: int) -> None:
        """A text field lost the keyboard after an edit: apply it (one undo step) or revert."""
        if not dpg.does_item_exist(widget):
            return
        node_id, decl = dpg.get_item_user_data(widget)
        self._apply(widget, node_id, decl, dpg.get_value(widget), merge=False)

    def _on_param(self, sender: int, value: Any, user_data: tuple[str, Any]) -> None:
        node_id, decl = user_data
        # Typing a number sends a value per key: one undo step while the field is active.
        key = (node_id, decl.name)
        active = _active(sender)
        merge = key == self._merge_key and active
        self._merge_key = key if active else None
        self._apply(sender, node_id, decl, value, merge)

    def _apply(self, widget: int, node_id: str, decl: Any, value: Any, merge: bool) -> None:
        if node_id not in self.graph:
            return
        try:
            value = parse_widget_value(decl, value)
        except ValueError as exc:
            self.editor.report_error(f"node {node_id!r} param {decl.name!r}: {exc}")
            self._revert(decl.name)
            return
        if _same(self.graph.params(node_id)[decl.name], value):
            return
        if not self.editor.set_param(node_id, merge=merge, **{decl.name: value}):
            self._revert(decl.name)

    def _revert(self, name: str) -> None:
        """Shows the graph's value again in a field whose edit was refused."""
        self.shown.pop(name, None)
        widget = self.widgets.get(name)
        if widget is not None and self.node in self.graph:
            value = self.graph.params(self.node)[name]
            self.shown[name] = value
            if dpg.get_item_type(widget).endswith(("mvInputText", "mvCombo")):
                dpg.set_value(widget, "" if value is None else str(value))
            elif not dpg.get_item_type(widget).endswith("mvText"):
                dpg.set_value(widget, value)


def summary(decl: Any, value: Any) -> str:
    """A short text for a param a field cannot edit (lists, dicts, tensors)."""
    if isinstance(value, list):
        unit = getattr(decl.editor, "unit", "item")
        return f"{len(value)} {unit}{'' if len(value) == 1 else 's'}"
    if isinstance(value, dict):
        return f"{len(value)} keys"
    if value is None:
        return "none"
    shape = getattr(value, "shape", None)
    return f"tensor {list(shape)}" if shape is not None else repr(value)[:12]


def parse_widget_value(decl: Any, value: Any) -> Any:
    """A field's value as the param's type (combo strings back to choices, empty text = None)."""
    if decl.choices is not None:
        return next((c for c in decl.choices if str(c) == value), value)
    if isinstance(value, str) and decl.type in (float, int):
        text = value.strip()
        if not text:
            return None
        try:
            return decl.type(float(text)) if decl.type is int else float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number; leave it empty for auto") from None
    return value


def _active(widget: int) -> bool:
    """The field has the keyboard (False before its first frame, when it has no state yet)."""
    return bool(dpg.get_item_state(widget).get("active", False))


def _focused(widget: int) -> bool:
    return bool(dpg.get_item_state(widget).get("focused", False))


def _item_type(widget: int) -> str:
    return dpg.get_item_type(widget).rsplit("::", 1)[-1]


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:  # tensors compare element-wise
        return a is b
