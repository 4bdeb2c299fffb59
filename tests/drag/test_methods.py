"""DragConfig.method: 'draggan' is the paper's loop step for step; each other method moves a
handle towards its target; the guard stops pulling a handle whose tracking collapsed, and says so."""

from __future__ import annotations

import pytest
import torch

from nodes.drag import DragConfig, drag
from nodes.drag.baseline import OfficialFormulation
from nodes.drag.config import METHODS
from nodes.drag.guarded import GuardSettings
from nodes.drag.loop import run_drag
from nodes.drag.multiscale import MultiscaleFormulation

FAST = dict(lr=0.03, r1=2, r2=3)


def test_draggan_is_the_official_loop_step_for_step(tiny_generator):
    """The same handles and losses at every step as the official formulation (baseline.py)."""
    ws = tiny_generator.random_ws(0)
    handles, targets = [(12.0, 16.0), (20.0, 12.0)], [(18.0, 16.0), (26.0, 12.0)]
    config = DragConfig(method="draggan", steps=8, stop_px=0.1, **FAST)
    ours = drag(tiny_generator, ws, handles, targets, config=config)
    official = run_drag(tiny_generator, ws, handles, targets, None, config, None, None, OfficialFormulation)  # fmt: skip
    assert ours.steps == official.steps == 8
    for mine, theirs in zip(ours.history, official.history):
        assert mine.handles == theirs.handles
        assert mine.loss == pytest.approx(theirs.loss, rel=1e-4)
    torch.testing.assert_close(ours.ws, official.ws, rtol=1e-4, atol=1e-5)
    assert ours.guard_events == []


def test_guarded_moves_a_handle_towards_its_target(tiny_generator, method="guarded"):
    # A random generator is a poor model to drag: this handle is one where its content moves.
    # (The multiscale method's wide patch sees that content stay: it is judged on a real model.)
    G = tiny_generator
    ws = G.random_ws(0)
    handle, target = (12.8, 16.0), (18.8, 16.0)
    result = drag(G, ws, [handle], [target], config=DragConfig(method=method, steps=30, **FAST))
    start = result.history[0].distances[0]
    end = ((result.handles[0][0] - target[0]) ** 2 + (result.handles[0][1] - target[1]) ** 2) ** 0.5
    assert end < start - 2


GUARDS = {"guarded": "nodes.drag.guarded.GUARD", "multiscale": "nodes.drag.multiscale.MULTISCALE_GUARD"}


@pytest.mark.parametrize("method", sorted(GUARDS))
def test_the_guard_stops_pulling_a_handle_whose_tracking_collapsed(tiny_generator, monkeypatch, method):
    """With a confidence floor no match can reach, every handle is lost after `patience` tracks:
    the event names the handle and the step, and the lost handle is no longer pulled."""
    strict = GuardSettings(template_below=0.5, lost_below=2.0, patience=3)
    monkeypatch.setattr(GUARDS[method], strict)
    ws = tiny_generator.random_ws(0)
    result = drag(tiny_generator, ws, [(12.0, 16.0), (20.0, 12.0)], [(18.0, 16.0), (26.0, 12.0)],
                  config=DragConfig(method=method, steps=10, **FAST))  # fmt: skip
    assert [(e.handle, e.step) for e in result.guard_events] == [(0, 3), (1, 3)]
    assert "handle 0" in result.guard_events[0].describe()
    assert result.stopped == "lost" and result.steps == 3


def _drag_record(G, tmp_path, point: dict, **drag_params):
    """The DragOptimizer's record after a Generator (G, saved) -> Latent -> DragOptimizer graph
    drags one PointSet point."""
    from nodegraph import Graph
    from nodes.gan import save_generator

    tiny_checkpoint = str(tmp_path / "tiny32.safetensors")
    save_generator(G, tiny_checkpoint)
    g = Graph()
    gen = g.add("Generator", id="generator", checkpoint=tiny_checkpoint)
    lat = g.add("Latent", id="latent", seed=1)
    pts = g.add("PointSet", id="points", points=[point])
    opt = g.add("DragOptimizer", id="drag", preview_every=0, **drag_params)
    g.connect(gen, "generator", lat, "generator")
    g.connect(gen, "generator", opt, "generator")
    g.connect(lat, "latent", opt, "latent")
    g.connect(pts, "points", opt, "points")
    return g.evaluate(output_dir=tmp_path).nodes["drag"]


def test_the_drag_node_reports_the_lost_handle_and_step(tiny_generator, tmp_path, monkeypatch):
    monkeypatch.setattr("nodes.drag.guarded.GUARD", GuardSettings(0.5, lost_below=2.0, patience=2))
    point = {"handle": [12, 12], "target": [16, 12]}
    record = _drag_record(tiny_generator, tmp_path, point, steps=6, method="guarded")
    assert record.facts["lost_handles"] == [[0, 2]]
    assert any("handle 0 lost its tracking at step 2" in w for w in record.warnings)


class _WholeMap(MultiscaleFormulation):
    """The multiscale method computing whole maps (no crop plan): the reference for its crops."""

    crops = False


def test_multiscale_tracks_on_both_blocks_and_its_crops_change_nothing(tiny_generator_64):
    """The tracking template holds F's channels and the block below's, over the wider patch; the
    cropped run (the lower block read from its crops) tracks and steps as the whole-map run."""
    G = tiny_generator_64
    ws = G.random_ws(1)
    handles, targets = [(20.0, 30.0), (44.0, 24.0)], [(26.0, 30.0), (40.0, 30.0)]
    config = DragConfig(method="multiscale", steps=6, stop_px=0.1, lr=0.03, r1=2, r2=3)
    cfg = config.resolve(G.img_resolution, len(G.block_resolutions), G.num_ws)
    form = MultiscaleFormulation(G, G.mapping(torch.zeros(1, G.z_dim)), torch.tensor(handles), None, cfg)
    channels = [G.synthesis.blocks()[b].conv1.weight.shape[0] for b in (cfg.feature_block - 1, cfg.feature_block)]
    assert form.track_template.shape == (2, len(form.track_patch), sum(channels))
    assert len(form.track_patch) > len(form.patch)  # radius r1 + TRACK_MARGIN
    assert form.crop_plan(torch.tensor(handles)) is not None  # the crops are really exercised
    cropped = run_drag(G, ws, handles, targets, None, config, None, None, MultiscaleFormulation)
    whole = run_drag(G, ws, handles, targets, None, config, None, None, _WholeMap)
    for mine, theirs in zip(cropped.history, whole.history, strict=True):
        torch.testing.assert_close(torch.tensor(mine.handles), torch.tensor(theirs.handles), rtol=0, atol=1e-4)
        assert mine.loss == pytest.approx(theirs.loss, rel=1e-4)


@pytest.mark.parametrize("method", [m for m in METHODS if m != "draggan"])
def test_each_method_moves_the_bundled_face_and_tracks_its_content(method):
    """On the bundled model, a nose tip dragged 3 px down: the detector finds the nose on the
    target, and the handle the method tracked where the detector finds it (held-out pair)."""
    from nodes.toyfaces.bench import ONE, PAIR_SEEDS, drag_pair, load_models

    torch.set_num_threads(1)
    G, detector = load_models(None, None, "cpu")
    outcome = drag_pair(G, detector, PAIR_SEEDS.start + 1000, ONE, DragConfig(method=method, steps=60))
    assert outcome.distance_before > 2.5
    assert outcome.distance_after < 0.4 * outcome.distance_before
    assert outcome.trace and outcome.trace[-1][2] < 1.0  # tracking error, px, at the last sample


@pytest.mark.parametrize("seed", [0, 1])
def test_the_l2_distance_to_the_template_equals_the_direct_difference(seed):
    """guarded._l2_to_template (from dot products) against || v - t || built element by element."""
    from nodes.drag.guarded import _l2_to_template

    torch.manual_seed(seed)
    values, template = torch.randn(3, 49, 24), torch.randn(3, 5, 24)
    values[:, 7] = template[:, 2]  # an exact match: the distance is 0 there, not a rounding NaN
    pixel = torch.randint(0, 49, (9, 5))
    pixel[4, 2] = 7
    direct = (values[:, pixel] - template.unsqueeze(1)).norm(dim=-1)
    torch.testing.assert_close(_l2_to_template(values, template, pixel), direct, rtol=1e-4, atol=2e-3)
    assert float(_l2_to_template(values, template, pixel)[0, 4, 2]) < 2e-3


def test_multiscale_pulls_the_last_fraction_of_a_pixel_and_guarded_a_whole_pixel(tiny_generator):
    from nodes.drag.guarded import GuardedFormulation
    from nodes.drag.motion import unit_directions

    G = tiny_generator
    handles, targets = torch.tensor([[10.0, 10.0], [20.0, 12.0]]), torch.tensor([[10.0, 10.4], [23.0, 16.0]])
    cfg = DragConfig(r1=2, r2=3).resolve(G.img_resolution, len(G.block_resolutions), G.num_ws)
    ws0 = G.mapping(torch.zeros(1, G.z_dim))
    directions, distance = unit_directions(handles, targets)
    ms = MultiscaleFormulation(G, ws0, handles, None, cfg).shift(directions, distance)
    guarded = GuardedFormulation(G, ws0, handles, None, cfg).shift(directions, distance)
    torch.testing.assert_close(ms, torch.tensor([[0.0, 0.4], [0.6, 0.8]]))
    torch.testing.assert_close(guarded, torch.tensor([[0.0, 1.0], [0.6, 0.8]]))


def test_the_arrival_check_finds_the_content_a_tracker_ran_ahead_of():
    """On the bundled model's face, a nose-tip handle tracked 2.2 px ahead of the nose and counted
    arrived: the check's wide patch finds the nose under the starting handle; a handle on the
    nose is confirmed (None); after ARRIVAL_CHECKS checks there is no more second look."""
    from nodes.drag.config import recommended_settings
    from nodes.drag.multiscale import ARRIVAL_CHECKS
    from nodes.toyfaces.bench import PAIR_SEEDS, load_models
    from nodes.toyfaces.latent_space import face_params, geometry_pair
    from nodes.toyfaces.render import LANDMARK_INDEX, render_batch

    torch.set_num_threads(1)
    G, _ = load_models(None, None, "cpu")
    z, _ = geometry_pair(PAIR_SEEDS.start + 1000)
    handles = render_batch(params=face_params(z))[1][0, [LANDMARK_INDEX["nose_tip"]]]
    ws0 = G.mapping(z)
    cfg = DragConfig().resolve(G.img_resolution, len(G.block_resolutions), G.num_ws, recommended_settings(G))
    form = MultiscaleFormulation(G, ws0, handles, None, cfg)
    ahead = handles + torch.tensor([[2.0, 1.0]])
    found = form.check_arrival(ws0, ahead, ahead)
    assert found is not None and float((found - handles).norm()) < 0.6
    assert form.check_arrival(ws0, handles, handles) is None
    for _ in range(ARRIVAL_CHECKS - 2):
        assert form.check_arrival(ws0, ahead, ahead) is not None
    assert form.check_arrival(ws0, ahead, ahead) is None  # spent: the drag may end
    whole = _WholeMap(G, ws0, handles, None, cfg)  # the check's crops change nothing
    torch.testing.assert_close(whole.locate(ws0, ahead), form.locate(ws0, ahead), rtol=0, atol=1e-4)
    assert form.crop_plan(ahead, 9) is not None


def _two_px_left_once(self, ws, handles):
    """MultiscaleFormulation.locate finding the content 2 px left of every handle at the first
    check, and under the handles after."""
    return handles - torch.tensor([2.0, 0.0]) if self.arrival_checks == 1 else handles


class _RelocatedOnce(MultiscaleFormulation):
    locate = _two_px_left_once


def test_a_relocated_drag_goes_on_from_where_the_check_put_its_handles(tiny_generator):
    """The loop asks the check when the handles arrive: a re-location is not convergence; the
    next step pulls from the new positions (untracked), and the drag ends when the check agrees."""
    G = tiny_generator
    ws = G.random_ws(1)
    config = DragConfig(method="multiscale", steps=40, stop_px=1.5, lr=0.01, r1=2, r2=3)
    result = run_drag(G, ws, [(16.0, 16.0)], [(16.5, 16.0)], None, config, None, None, _RelocatedOnce)
    assert result.history[0].handles == [(14.0, 16.0)]  # arrived at step 0, re-located, pulled
    assert result.steps >= 2 and result.converged
    assert [r.step for r in result.relocations] == [0] and result.relocations[0].moved_px == (2.0,)


def test_the_drag_node_notes_the_arrivals_its_check_relocated(tiny_generator, tmp_path, monkeypatch):
    monkeypatch.setattr(MultiscaleFormulation, "locate", _two_px_left_once)
    point = {"handle": [16, 16], "target": [16.5, 16]}
    record = _drag_record(tiny_generator, tmp_path, point, steps=4, method="multiscale", stop_px=1.5)
    assert record.facts["arrival_relocations"] == [[0, 2.0]]
    assert not record.warnings or all("arrival" not in w for w in record.warnings)


def test_multiscale_keeps_pulling_a_settled_handle_while_guarded_lets_it_drift(tiny_generator):
    """Two handles, one 0.3 px from its target (within stop_px 0.5), one 5 px away: multiscale's
    loss pulls both (the settled one by its 0.3 px), guarded's only the far one."""
    from nodes.drag.guarded import GuardedFormulation

    G = tiny_generator
    handles, targets = torch.tensor([[10.0, 10.0], [20.0, 12.0]]), torch.tensor([[10.3, 10.0], [23.0, 16.0]])
    cfg = DragConfig(r1=2, r2=3, stop_px=0.5).resolve(G.img_resolution, len(G.block_resolutions), G.num_ws)
    ws0 = G.mapping(torch.zeros(1, G.z_dim))
    distance = (targets - handles).norm(dim=-1)
    ms, guarded = MultiscaleFormulation(G, ws0, handles, None, cfg), GuardedFormulation(G, ws0, handles, None, cfg)
    assert ms.pulled(distance).tolist() == [True, True]
    assert guarded.pulled(distance).tolist() == [False, True]
    assert ms.pulled(torch.tensor([0.01, 3.0])).tolist() == [False, True]  # on target: nothing to pull

    def loss_of(form, goals):
        return float(form.loss(form.features(ws0, handles), handles, goals))

    only_far = targets.clone()
    only_far[0] = handles[0]  # the near handle exactly on its target: only the far one is pulled
    assert loss_of(ms, targets) > loss_of(ms, only_far) * (1 + 1e-4)  # the settled handle's term
    assert loss_of(guarded, targets) == pytest.approx(loss_of(guarded, only_far), rel=1e-6)
