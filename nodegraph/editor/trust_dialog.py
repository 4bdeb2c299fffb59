"""The dialog a run opens when the trust rule refused something (docs/PROJECTS.md): the user, never
the project, may allow writing outside the output folder, replacing a foreign file or downloading
a model, for the project now open. The queries are plain functions, tested without a display."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import dearpygui.dearpygui as dpg

from nodegraph.trust import Permissions, TrustError

if TYPE_CHECKING:
    from nodegraph.editor.app import Editor

QUESTIONS = {
    "write_outside": "This project wants to write outside its output folder:\n{target}\n\n"
    "Allow it to write outside its folder until you open another project?",
    "overwrite_foreign": "This project wants to replace a file that nodegraph did not write:\n"
    "{target}\n\nAllow it to replace such files until you open another project?",
    "download": "This project uses the model {target}, which is not in the model cache.\n\n"
    "Download it now (hundreds of MB), and let this project download models until you open "
    "another project?",
}


def trust_refusal(error: BaseException | None) -> TrustError | None:
    """The TrustError behind a run's error (itself, or the cause of a node's failure), else None."""
    for _ in range(8):  # a short chain: NodeError -> the exception its compute raised
        if error is None or isinstance(error, TrustError):
            return error
        cause = getattr(error, "cause", None)
        error = cause if isinstance(cause, BaseException) else error.__cause__
    return None


def question(refusal: TrustError) -> str:
    return QUESTIONS[refusal.permission].format(target=refusal.target)


def allowing(permissions: Permissions, refusal: TrustError) -> Permissions:
    """`permissions` plus the one the refusal asks for."""
    return replace(permissions, **{refusal.permission: True})


class TrustDialog:
    """A modal question; "Allow and run again" grants the permission to the open graph and runs."""

    def __init__(self, editor: Editor) -> None:
        self.editor = editor
        self.pending: TrustError | None = None
        with dpg.window(
            label="Allow this project?", modal=True, show=False, no_resize=True, width=520
        ) as self.window:
            self.text = dpg.add_text("", wrap=500)
            with dpg.group(horizontal=True):
                dpg.add_button(label="Allow and run again", callback=lambda: self.answer(True))
                dpg.add_button(label="Cancel", width=100, callback=lambda: self.answer(False))

    def offer(self, error: BaseException | None) -> bool:
        """Shows the question when `error` is a trust refusal; False (nothing shown) otherwise."""
        refusal = trust_refusal(error)
        if refusal is None:
            return False
        self.pending = refusal
        dpg.set_value(self.text, question(refusal))
        dpg.configure_item(self.window, show=True)
        return True

    def answer(self, allow: bool) -> None:
        dpg.configure_item(self.window, show=False)
        refusal, self.pending = self.pending, None
        if allow and refusal is not None:
            graph = self.editor.graph
            graph.permissions = allowing(graph.permissions, refusal)
            self.editor.log(f"allowed for this project: {refusal.permission.replace('_', ' ')}")
            self.editor.run()
