"""The Dear PyGui editor: a view over the engine's Graph (build graphs, click points, paint
masks, watch a drag live). `nodegraph edit` calls `main(args)`; the engine never imports this."""

from __future__ import annotations

from typing import Any


def main(args: Any = None) -> int:
    from nodegraph.editor.app import main as app_main

    return app_main(args)


__all__ = ["main"]
