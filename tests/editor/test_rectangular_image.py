"""Issue 27: a StyleGAN-Human style (H x H/2) generator in the editor. Its image is shown padded
white to a square, as the drag sees it, so a point lands on the pixel the user clicked and is
drawn there, and a run pulls it towards its target. Real X events."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from nodes.types import image_to_uint8
from tests.editor.helpers import (
    drag_graph,
    image_to_screen,
    item_center,
    pump,
    set_widget,
    wait_until,
)
from tests.editor.xinput import click, move, xdo

pytestmark = pytest.mark.editor


@pytest.fixture(scope="module")
def rect_checkpoint(tmp_path_factory):
    from nodes.gan import save_generator
    from tests.tiny import make_tiny_generator

    path = tmp_path_factory.mktemp("rect") / "human32.safetensors"
    save_generator(make_tiny_generator(32, seed=1, width_divisor=2), path)
    return path


def _shot(editor, path) -> np.ndarray:
    return np.asarray(Image.open(editor.screenshot(path)).convert("RGB")).astype(int)


def test_points_on_a_half_width_image_land_where_clicked_and_the_drag_pulls_them(
    xeditor, rect_checkpoint, tmp_path
):
    ids = drag_graph(xeditor, rect_checkpoint, steps=30)
    for param, value in (("lr", 0.03), ("r1", 2.0), ("r2", 3.0)):  # a 32 px image's scale
        set_widget(xeditor, ids["drag"], param, value)
    # A random 32 px generator: the default method's wide two-scale patch sees its noise stay
    # put and tracks no motion; the guarded method's small patch follows it (tests/drag).
    set_widget(xeditor, ids["drag"], "method", "guarded")
    xeditor.select(ids["points"])
    wait_until(xeditor, lambda: xeditor.panel.image is not None, 60, "the latent's image")
    xeditor.wait_idle(60)
    pump(xeditor, 3)
    assert tuple(xeditor.panel.image.shape[-2:]) == (32, 32)  # the square the drag works on
    shot = _shot(xeditor, tmp_path / "before.png")
    for column in (1, 6, 25, 30):  # the padding (columns 0-7 and 24-31) is drawn white
        x, y = image_to_screen(xeditor, column, 16)
        assert shot[y, x].min() > 245, (column, shot[y, x])
    (x0, y0), (w, h) = xeditor.panel_image_rect()
    content = shot[y0 : y0 + h, x0 + w // 4 + 2 : x0 + 3 * w // 4 - 2]
    assert content.std() > 5 and content.mean() < 245  # the figure's half-width content

    click(xeditor, *image_to_screen(xeditor, 13, 16))
    click(xeditor, *image_to_screen(xeditor, 19, 16))
    wait_until(
        xeditor,
        lambda: (
            xeditor.graph.params(ids["points"])["points"]
            == [{"handle": [13, 16], "target": [19, 16]}]
        ),
        what="the pair the two clicks made",
    )
    pump(xeditor, 3)
    shot = _shot(xeditor, tmp_path / "points.png")
    hx, hy = image_to_screen(xeditor, 13, 16)
    r, g, b = shot[hy, hx]
    assert r > 150 and b < 120, f"handle colour expected at ({hx}, {hy}), got {(r, g, b)}"
    tx, ty = image_to_screen(xeditor, 19, 16)
    r, g, b = shot[ty, tx]
    assert b > 150 and r < 120, f"target colour expected at ({tx}, {ty}), got {(r, g, b)}"

    move(xeditor, *item_center(xeditor.canvas.tag))
    xdo("key", "ctrl+Return")
    wait_until(xeditor, lambda: xeditor.last_report is not None, 120, "the run")
    assert xeditor.wait_idle(120) and xeditor.last_report.ok, xeditor.status_message
    moved = xeditor.value_of(ids["drag"], "points")
    ((hx_after, _),) = moved.handles
    assert hx_after > 13.5, f"the handle did not move towards x=19: {moved.handles}"
    xeditor.select(ids["drag"])
    pump(xeditor, 3)
    result = image_to_uint8(xeditor.value_of(ids["drag"], "image")).astype(np.float32)
    assert result[:, :8].min() == 255 and result[:, 24:].min() == 255  # still padded white
    shot = _shot(xeditor, tmp_path / "after.png")
    (x0, y0), (w, h) = xeditor.panel_image_rect()
    region = Image.fromarray(shot[y0 : y0 + h, x0 : x0 + w].astype(np.uint8))
    shown = np.asarray(region.resize((32, 32), Image.BOX), np.float32)
    assert np.abs(shown - result).mean() < 12  # the panel shows the drag's own result
