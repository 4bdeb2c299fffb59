"""The scrubber under the image panel, driven with real X events (xdotool): the frame its caption
names is the one on screen, play advances and pause stops, Save animation writes every frame."""

from __future__ import annotations

import dearpygui.dearpygui as dpg
import numpy as np
import pytest
from PIL import Image

from nodes.export_animation import synthesise
from nodes.types import image_to_uint8
from tests.editor.helpers import drag_graph, item_center, pump, set_widget, wait_until
from tests.editor.xinput import click, drag, move, require_xdotool

STEPS = 6


@pytest.fixture
def ran(editor, tiny_checkpoint):
    """A 6-step drag recorded every step, run, its DragOptimizer selected."""
    require_xdotool()
    move(editor, 5, 5)
    ids = drag_graph(editor, tiny_checkpoint, steps=STEPS)
    set_widget(editor, ids["drag"], "trajectory_every", 1)
    editor.select(ids["points"])
    editor.wait_idle(60)
    editor.panel.press(12, 16), editor.panel.press(20, 16)
    editor.run()
    assert editor.wait_idle(120)
    assert editor.last_report is not None and editor.last_report.ok, editor.status_message
    editor.select(ids["drag"])
    scrub = editor.scrubber
    wait_until(editor, lambda: scrub.film is not None, what="the scrubber's film")
    wait_until(editor, lambda: dpg.get_item_rect_size(scrub.slider)[0] > 0, what="slider drawn")
    return ids


def _caption(editor) -> str:
    return dpg.get_value(editor.scrubber.caption)


def test_dragging_the_slider_shows_the_frame_the_caption_names(editor, ran, tmp_path):
    scrub = editor.scrubber
    trajectory = scrub.film
    last = len(trajectory) - 1
    assert last == STEPS  # step 0 and every step after it
    assert _caption(editor).startswith(f"frame {last + 1}/{last + 1}")
    (x, y), (w, _) = dpg.get_item_rect_min(scrub.slider), dpg.get_item_rect_size(scrub.slider)
    cy = int(y + dpg.get_item_rect_size(scrub.slider)[1] / 2)
    path = [(int(x + w - 6 - i * (w - 12) / 12), cy) for i in range(0, 7)]  # to about the middle
    drag(editor, path)
    index = scrub.index
    assert 0 < index < last, f"the slider was dragged to the middle, index {index}"
    assert dpg.get_value(scrub.slider) == index
    wait_until(editor, lambda: scrub.shown == index, what=f"frame {index} rendered")
    step = int(trajectory.steps[index])
    assert _caption(editor).startswith(f"frame {index + 1}/{last + 1}  step {step}")
    pump(editor, 2)
    shot = np.asarray(Image.open(editor.screenshot(tmp_path / "shot.png")).convert("RGB"))
    (x0, y0), (pw, ph) = editor.panel_image_rect()
    expected = image_to_uint8(synthesise(scrub.model, trajectory, [index])).astype(np.float32)
    res = expected.shape[0]
    region = Image.fromarray(shot[y0 : y0 + ph, x0 : x0 + pw]).resize((res, res), Image.BOX)
    diff = np.abs(np.asarray(region, np.float32) - expected).mean()
    assert diff < 12, f"the panel differs from frame {index} by {diff:.1f}"
    first = image_to_uint8(synthesise(scrub.model, trajectory, [0])).astype(np.float32)
    off = np.abs(np.asarray(region, np.float32) - first).mean()
    assert diff < off, f"frame {index} ({diff:.1f}) is no closer than frame 0 ({off:.1f})"
    handles, _ = scrub.view.points(trajectory, index)
    assert editor.panel.film_frame is not None and editor.panel.film_frame[1] == handles


def test_play_advances_and_pause_stops(editor, ran):
    scrub = editor.scrubber
    click(editor, *item_center(scrub.play_button))  # at the last frame: plays from the first
    assert scrub.playing and dpg.get_item_label(scrub.play_button) == "Pause"
    wait_until(editor, lambda: scrub.shown is not None and scrub.shown >= 2, what="playing")
    click(editor, *item_center(scrub.play_button))
    assert not scrub.playing and dpg.get_item_label(scrub.play_button) == "Play"
    stopped = scrub.index
    pump(editor, 5, seconds=0.5)
    assert scrub.index == stopped
    wait_until(editor, lambda: scrub.shown == stopped, what="the paused frame shown")
    assert _caption(editor).startswith(f"frame {stopped + 1}/")


def test_save_animation_writes_every_frame(editor, ran, tmp_path):
    scrub = editor.scrubber
    click(editor, *item_center(scrub.save_button))
    assert scrub.dialog_open
    target = tmp_path / "drag.gif"
    dpg.set_value(scrub.save_name, str(target))
    pump(editor, 2)
    click(editor, *item_center(scrub.save_ok))
    wait_until(editor, lambda: scrub.saved is not None, what="the animation written")
    assert scrub.saved == str(target)
    with Image.open(target) as film:
        assert film.n_frames == len(scrub.film)
        assert film.size == (32, 32)


def test_an_edit_upstream_hides_the_stale_film(editor, ran):
    scrub = editor.scrubber
    assert dpg.is_item_shown(scrub.root)
    set_widget(editor, ran["drag"], "steps", STEPS + 1)
    editor.select(ran["drag"])
    pump(editor, 3)
    assert scrub.film is None and not dpg.is_item_shown(scrub.root)


def test_save_animation_to_an_unknown_format_says_which_suffixes(editor, ran, tmp_path):
    scrub = editor.scrubber
    click(editor, *item_center(scrub.save_button))
    dpg.set_value(scrub.save_name, str(tmp_path / "drag.bmp"))
    pump(editor, 2)
    click(editor, *item_center(scrub.save_ok))
    wait_until(editor, lambda: not scrub.busy, what="the save refused")
    pump(editor, 2)
    assert not (tmp_path / "drag.bmp").exists()
    assert "drag.bmp" in editor.status_message and ".gif" in editor.status_message


def test_a_saved_webp_film_reopens_in_the_editor_as_its_project(editor, ran, tmp_path):
    scrub = editor.scrubber
    nodes = set(editor.graph.nodes)
    scrub.saved = None
    scrub.save_to(str(tmp_path / "drag.webp"))
    wait_until(editor, lambda: scrub.saved is not None, what="the animation written")
    with Image.open(tmp_path / "drag.webp") as film:
        assert film.format == "WEBP" and b"nodegraph:project" in film.info["xmp"]
    editor.graph.mark_clean()  # no prompt: open at once
    assert editor.files.open(tmp_path / "drag.webp"), editor.status_message
    assert set(editor.graph.nodes) == nodes and editor.graph.path is None
    assert editor.title.startswith("drag.webp (project from an image)")
    assert not editor.graph.permissions.write_outside
