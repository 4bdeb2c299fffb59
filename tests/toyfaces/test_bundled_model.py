"""The bundled toyfaces generator as shipped: truncation centred on the real mean w, style
mixing that stays on the learned manifold, and the drag settings it recommends (SPEC §5.1)."""

from __future__ import annotations

from nodes.drag import DragConfig, recommended_settings
from nodes.gan import load_generator
from nodes.toyfaces.bundled import default_generator_path
from nodes.toyfaces.scores import mixing_fidelity, w_avg_error
from nodes.toyfaces.train import DRAG_DEFAULTS

MIXING_BAR_DB = 24.0  # SPEC §5.1: rows 0-5 from z_a, the rest from z_b, against the render


def bundled():
    return load_generator(default_generator_path())


def test_the_bundled_w_avg_is_the_mean_w_within_five_percent():
    assert w_avg_error(bundled(), n=4096) <= 0.05


def test_the_bundled_model_mixes_coarse_and_fine_rows_above_the_bar():
    assert mixing_fidelity(bundled(), n=64)["psnr_db"] >= MIXING_BAR_DB


def test_the_bundled_model_recommends_the_drag_settings_that_empty_fields_take():
    G = bundled()
    recommended = recommended_settings(G)
    assert recommended == DRAG_DEFAULTS  # what the training script writes is what ships
    resolved = DragConfig().resolve(G.img_resolution, len(G.block_resolutions), G.num_ws, recommended)
    assert (resolved.lr, resolved.r1, resolved.r2, resolved.stop_px) == (
        recommended["lr"], recommended["r1"], recommended["r2"], recommended["stop_px"]
    )
    official = DragConfig().resolve(G.img_resolution, len(G.block_resolutions), G.num_ws)
    assert (official.lr, official.r1, official.r2, official.stop_px) != (resolved.lr, resolved.r1, resolved.r2, resolved.stop_px)
