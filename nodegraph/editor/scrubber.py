"""The scrubber under the image panel: replays the film a node gives (a drag's trajectory) frame
by frame (slider, play/pause) and saves it as an animation ("Save animation...").

Frames cost a synthesis each, so a thread of its own renders them (a batch ahead while playing)
and the UI thread shows each one when it arrives; the caption names the frame shown."""

from __future__ import annotations

import queue
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import dearpygui.dearpygui as dpg

from nodegraph.editor.queries import (
    FilmSource,
    animation_suggestion,
    film_source,
    resolve_user_path,
)
from nodegraph.views import port_view

if TYPE_CHECKING:
    from nodegraph.editor.host import Host
    from nodegraph.editor.image_panel import ImagePanel

PLAY_FPS = 10
AHEAD = 8  # frames rendered in one synthesis call while playing
KEPT_FRAMES = 64  # rendered frames kept (least recently shown out first)
HEIGHT = 62  # the scrubber's rows under the image


class FrameRenderer:
    """One daemon thread: renders the newest wanted frames, and saves animations, off the UI."""

    def __init__(self) -> None:
        self.results: queue.Queue = queue.Queue()
        self._wanted: tuple | None = None
        self._saves: list[tuple] = []
        self._wake = threading.Condition()
        self._busy = False
        threading.Thread(target=self._work, name="nodegraph-scrubber", daemon=True).start()

    def want(self, film_id: int, view, model, film, indices: list[int]) -> None:
        """Renders `indices` of `film` next; replaces a wanted render not yet started."""
        with self._wake:
            self._wanted = (film_id, view, model, film, list(indices))
            self._wake.notify()

    def save(self, view, model, film, path: str, project: Any) -> None:
        with self._wake:
            self._saves.append((view, model, film, path, project))
            self._wake.notify()

    @property
    def idle(self) -> bool:
        with self._wake:
            return not self._busy and self._wanted is None and not self._saves

    def _work(self) -> None:
        while True:
            with self._wake:
                while self._wanted is None and not self._saves:
                    self._wake.wait()
                if self._saves:
                    task, wanted = self._saves.pop(0), None
                else:
                    task, wanted, self._wanted = None, self._wanted, None
                self._busy = True
            try:
                if task is not None:
                    self._save(*task)
                else:
                    self._render(*wanted)
            finally:
                with self._wake:
                    self._busy = False

    def _render(self, film_id: int, view, model, film, indices: list[int]) -> None:
        try:
            images = view.render(model, film, indices)
        except Exception as exc:  # shown in the status line; the scrubber stays usable
            self.results.put(("error", film_id, f"cannot render frames {indices}: {exc}"))
            return
        for row, index in enumerate(indices):
            self.results.put(("frame", film_id, (index, images[row : row + 1])))

    def _save(self, view, model, film, path: str, project: Any) -> None:
        try:
            written = view.save(model, film, path, project)
        except Exception as exc:
            self.results.put(("error", None, f"cannot save the animation {path}: {exc}"))
            return
        self.results.put(("saved", None, str(written)))


class Scrubber:
    """Slider, play/pause, caption and "Save animation..." for the image panel's node."""

    def __init__(self, host: Host, parent: int | str, panel: ImagePanel) -> None:
        self.editor, self.panel = host, panel
        self.renderer = FrameRenderer()
        self.source: FilmSource | None = None
        self.film: Any = None
        self.model: Any = None
        self.view: Any = None
        self.index = 0  # the frame the slider asks for
        self.shown: int | None = None  # the frame the panel shows (None: the node's own image)
        self.active = False  # the user scrubbed or played this film: the panel shows frames
        self.playing = False
        self.saved: str | None = None  # the last animation written
        self._frames: OrderedDict[int, Any] = OrderedDict()
        self._asked: set[int] = set()
        self._next_at = 0.0
        self._build(parent)

    # --- layout --------------------------------------------------------------------------
    def _build(self, parent: int | str) -> None:
        with dpg.group(parent=parent, show=False) as self.root:
            with dpg.group(horizontal=True):
                self.play_button = dpg.add_button(
                    label="Play", width=60, callback=lambda: self.toggle_play()
                )
                self.slider = dpg.add_slider_int(
                    min_value=0, max_value=1, width=-1, format="",
                    callback=lambda s, v: self.scrub_to(v),
                )  # fmt: skip  (no number on the slider: it counts from 0, the caption from 1)
            with dpg.group(horizontal=True):
                self.save_button = dpg.add_button(
                    label="Save animation...", callback=lambda: self.show_save_dialog()
                )
                self.caption = dpg.add_text("", color=(190, 190, 200))
        with dpg.window(
            label="Save animation", modal=True, show=False, width=560, no_resize=True
        ) as self.save_dialog:
            dpg.add_text("File (.webp or .png, both with the project; .gif or .mp4):")
            self.save_name = dpg.add_input_text(width=-1, on_enter=True, callback=self._saved)
            with dpg.group(horizontal=True):
                self.save_ok = dpg.add_button(label="Save", width=100, callback=self._saved)
                dpg.add_button(label="Cancel", width=100, callback=self._save_cancelled)

    @property
    def shown_rows(self) -> bool:
        return self.film is not None

    @property
    def busy(self) -> bool:
        """Playing, or frames or a save under way: the editor keeps drawing frames."""
        return self.playing or not self.renderer.idle or not self.renderer.results.empty()

    @property
    def dialog_open(self) -> bool:
        return bool(dpg.is_item_shown(self.save_dialog))

    # --- each frame ----------------------------------------------------------------------
    def tick(self) -> None:
        """Follows the panel's node's film; shows rendered frames; advances while playing."""
        self._follow()
        self._take_results()
        if self.film is None:
            return
        now = time.monotonic()
        if self.playing and self.shown == self.index and now >= self._next_at:
            if self.index < len(self._length_range()) - 1:
                self.index += 1
                dpg.set_value(self.slider, self.index)
                self._next_at = now + 1.0 / PLAY_FPS
            else:
                self._pause()
        if self.active:
            self._show_or_ask()

    def _length_range(self) -> range:
        return range(self.view.length(self.film))

    def _follow(self) -> None:
        g = self.editor.graph
        source = film_source(g, self.panel.node)
        film = model = view = None
        if source is not None:
            view = port_view(g.type_of(source.node).output(source.port).type).film
            film = self.editor.value_of(source.node, source.port) if view else None
            model = self.editor.value_of(*source.model) if film is not None else None
        if film is None or model is None:
            if self.film is not None:
                self._forget()
            return
        if film is not self.film or source != self.source:
            self._start(source, film, model, view)

    def _start(self, source: FilmSource, film: Any, model: Any, view: Any) -> None:
        self.source, self.film, self.model, self.view = source, film, model, view
        last = view.length(film) - 1
        self.index, self.shown, self.active, self.playing = last, None, False, False
        self._frames.clear()
        self._asked.clear()
        dpg.configure_item(self.slider, max_value=max(1, last), enabled=last > 0)
        dpg.set_value(self.slider, last)
        dpg.configure_item(self.play_button, label="Play")
        dpg.set_value(self.caption, view.caption(film, last))
        self._set_shown_rows(True)
        self.panel.end_frame()

    def _forget(self) -> None:
        self.source = self.film = self.model = self.view = None
        self.shown, self.active, self.playing = None, False, False
        self._frames.clear()
        self._asked.clear()
        self._set_shown_rows(False)
        self.panel.end_frame()

    def _set_shown_rows(self, on: bool) -> None:
        dpg.configure_item(self.root, show=on)
        self.panel.layout(-1, -HEIGHT if on else -1)

    def _take_results(self) -> None:
        while True:
            try:
                kind, film_id, payload = self.renderer.results.get_nowait()
            except queue.Empty:
                return
            if kind == "saved":
                self.saved = payload
                self.editor.status(f"wrote {payload}")
                self.editor.log(f"wrote {payload}")
            elif kind == "error":
                self.editor.report_error(payload)
            elif kind == "frame" and film_id == id(self.film):
                index, image = payload
                self._asked.discard(index)
                self._frames[index] = image
                while len(self._frames) > KEPT_FRAMES:
                    self._frames.popitem(last=False)

    def _show_or_ask(self) -> None:
        """The wanted frame on the panel when rendered; else asked for (a batch while playing).
        Until it arrives the panel keeps the frame it shows."""
        index = self.index
        if index in self._frames:
            self._frames.move_to_end(index)
            if self.shown != index:
                self.shown = index
                handles, targets = self.view.points(self.film, index)
                self.panel.show_frame(self._frames[index], handles, targets)
                dpg.set_value(self.caption, self.view.caption(self.film, index))
            if not self.playing:
                return
            index += 1  # while playing: render ahead
        total = len(self._length_range())
        todo = [i for i in range(index, min(total, index + (AHEAD if self.playing else 1)))]
        todo = [i for i in todo if i not in self._frames]
        if todo and todo[0] not in self._asked:
            self._asked.update(todo)
            self.renderer.want(id(self.film), self.view, self.model, self.film, todo)

    # --- actions -------------------------------------------------------------------------
    def scrub_to(self, index: int) -> None:
        """The slider moved to frame `index` (the panel shows it once rendered)."""
        if self.film is None:
            return
        self.index = max(0, min(int(index), len(self._length_range()) - 1))
        self.active = True
        self._asked.clear()  # a scrub supersedes a batch asked for while playing

    def toggle_play(self) -> None:
        if self.film is None:
            return
        if self.playing:
            self._pause()
            return
        if self.index >= len(self._length_range()) - 1:
            self.index = 0
            dpg.set_value(self.slider, 0)
        self.playing, self.active = True, True
        self._next_at = time.monotonic() + 1.0 / PLAY_FPS
        dpg.configure_item(self.play_button, label="Pause")

    def _pause(self) -> None:
        self.playing = False
        dpg.configure_item(self.play_button, label="Play")

    def show_save_dialog(self) -> None:
        if self.film is None:
            return
        suggestion = animation_suggestion(self.editor.graph, self.source.node)
        dpg.set_value(self.save_name, str(suggestion))
        dpg.configure_item(self.save_dialog, show=True)
        dpg.focus_item(self.save_name)

    def _saved(self, *args: object) -> None:
        typed = dpg.get_value(self.save_name).strip()
        if not typed:
            self.editor.status("type a file name for the animation", (255, 170, 60))
            return
        dpg.configure_item(self.save_dialog, show=False)
        self.save_to(str(resolve_user_path(self.editor.graph, typed)))

    def _save_cancelled(self, *args: object) -> None:
        dpg.configure_item(self.save_dialog, show=False)

    def save_to(self, path: str) -> None:
        """Writes the film to `path` in the background (the user chose it: the trust rule's
        limits are for paths a project names); an animated PNG or WebP carries the project."""
        if self.film is None:
            return
        self.editor.status(f"saving the animation {path} (a synthesis per frame)...")
        project = self.editor.graph.to_json()
        self.renderer.save(self.view, self.model, self.film, path, project)
