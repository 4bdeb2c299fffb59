"""Hover tooltips for every view, switched off for screenshots (where the pointer may rest on a
widget and its tooltip would cover what the picture is for)."""

from __future__ import annotations

import dearpygui.dearpygui as dpg

TOOLTIPS = {"on": True}


def tip(item: int, text: str) -> None:
    """A hover tooltip on `item`."""
    if TOOLTIPS["on"] and text:
        with dpg.tooltip(item, delay=0.3):
            dpg.add_text(text, wrap=340)
