"""Stacked drags (nodes.drag.stacked): in a batch, drags of one of the engine's methods with the
same settings and handle count track and score as one pass, and each still gets drag()'s outcome:
its handles, losses, guard events, arrival re-locations and stop."""

from __future__ import annotations

import pytest
import torch

from nodes.drag import DragConfig, drag
from nodes.drag import stacked as stacked_module
from nodes.drag.guarded import GuardSettings
from nodes.drag.many import drag_many
from nodes.drag.multiscale import MultiscaleFormulation

FAST = dict(lr=0.03, r1=2, r2=3)
# Two handles each. Drag 1 is there at once (within stop_px at step 0), so drag 3 joins the
# running stack at its first step while drags 0 and 2 track.
HANDLES = [[(12.0, 16.0), (20.0, 12.0)], [(16.0, 10.0), (8.0, 8.0)], [(10.0, 20.0), (22.0, 22.0)],
           [(14.0, 14.0), (18.0, 8.0)], [(6.0, 12.0), (24.0, 14.0)]]  # fmt: skip
TARGETS = [[(18.0, 16.0), (26.0, 12.0)], [(17.5, 10.0), (9.5, 8.0)], [(14.0, 24.0), (20.0, 26.0)],
           [(20.0, 14.0), (18.0, 14.0)], [(11.0, 12.0), (24.0, 19.0)]]  # fmt: skip
GUARDS = {"guarded": "nodes.drag.guarded.GUARD", "multiscale": "nodes.drag.multiscale.MULTISCALE_GUARD"}


@pytest.fixture
def stack_sizes(monkeypatch) -> list[int]:
    """The number of drags of each stacked pass."""
    sizes: list[int] = []
    original = stacked_module.stacked_losses

    def spy(runs, feat, lower):
        sizes.append(len(runs))
        return original(runs, feat, lower)

    monkeypatch.setattr("nodes.drag.many.stacked_losses", spy)
    return sizes


def _alone_and_together(G, config, batch: int = 3, handles=HANDLES, targets=TARGETS):
    codes = [G.random_ws(seed) for seed in range(len(handles))]
    alone = [drag(G, ws, h, t, config=config) for ws, h, t in zip(codes, handles, targets)]
    together = drag_many(G, codes, handles, targets, config=config, batch=batch)
    return alone, together


def _assert_same_drags(alone, together, atol: float = 1e-9) -> None:
    assert [r.stopped for r in together] == [r.stopped for r in alone]
    assert [r.steps for r in together] == [r.steps for r in alone]
    for one, many in zip(alone, together):
        tracks = [torch.tensor(e.handles) for e in one.history]
        torch.testing.assert_close([torch.tensor(e.handles) for e in many.history], tracks, rtol=0, atol=atol)
        assert [e.loss for e in many.history] == pytest.approx([e.loss for e in one.history], rel=1e-9)
        distances = torch.tensor([e.distances for e in one.history])
        torch.testing.assert_close(torch.tensor([e.distances for e in many.history]), distances, rtol=1e-9, atol=atol)
        torch.testing.assert_close(many.ws, one.ws, rtol=0, atol=1e-12)
        assert [(e.handle, e.step) for e in many.guard_events] == [(e.handle, e.step) for e in one.guard_events]
        assert [r.step for r in many.relocations] == [r.step for r in one.relocations]


@pytest.mark.parametrize("method", ["draggan", *sorted(GUARDS)])
def test_stacked_drags_equal_their_own_drags_step_for_step(tiny_generator, stack_sizes, method):
    """float64: three at a time, the others joining as drags end; every pass is one stack."""
    config = DragConfig(method=method, steps=14, **FAST)
    alone, together = _alone_and_together(tiny_generator.double(), config)
    assert stack_sizes and max(stack_sizes) == 3
    assert alone[1].steps == 0 and alone[1].converged and min(alone[i].steps for i in (0, 2, 3)) > 1
    _assert_same_drags(alone, together)


@pytest.mark.parametrize("method", sorted(GUARDS))
def test_a_stack_loses_each_drags_handles_at_their_own_steps(tiny_generator, stack_sizes, monkeypatch, method):
    """A guard no match satisfies loses every handle after `patience` tracks: each drag's events
    name its own handles (0 and 1, not the stack's rows) at its own step, as drag() alone."""
    monkeypatch.setattr(GUARDS[method], GuardSettings(template_below=0.5, lost_below=2.0, patience=3))
    config = DragConfig(method=method, steps=10, **FAST)
    far = [0, 2, 3, 4]  # drag 1 would arrive before any track
    pick = lambda items: [items[i] for i in far]  # noqa: E731
    alone, together = _alone_and_together(tiny_generator.double(), config, 2, pick(HANDLES), pick(TARGETS))
    assert stack_sizes
    assert all(r.stopped == "lost" for r in together)
    assert all([(e.handle, e.step) for e in r.guard_events] == [(0, 3), (1, 3)] for r in together)
    _assert_same_drags(alone, together)


def _two_px_left_once(self, ws, handles):
    """MultiscaleFormulation.locate finding the content 2 px left of every handle at the first
    check, and under the handles after."""
    return handles - torch.tensor([2.0, 0.0], dtype=handles.dtype) if self.arrival_checks == 1 else handles


def test_a_stacked_drag_relocated_by_its_arrival_check_goes_on_as_alone(tiny_generator, stack_sizes, monkeypatch):
    """The arrival check runs per drag inside a stack: drag 1 arrives at once and is re-located
    while drag 0 pulls on; at the next step drag 1 skips its track (it is pulled from where the
    check put it) while drag 0 tracks. Every drag's history is drag()'s."""
    monkeypatch.setattr(MultiscaleFormulation, "locate", _two_px_left_once)
    config = DragConfig(method="multiscale", steps=12, stop_px=1.5, lr=0.01, r1=2, r2=3)
    handles = [HANDLES[0], [(16.0, 16.0), (10.0, 10.0)], [(12.0, 20.0), (20.0, 8.0)]]
    targets = [TARGETS[0], [(16.5, 16.0), (10.5, 10.0)], [(12.5, 20.0), (20.0, 8.5)]]
    alone, together = _alone_and_together(tiny_generator.double(), config, 2, handles, targets)
    assert stack_sizes and max(stack_sizes) == 2
    assert [r.step for r in alone[1].relocations] == [0] and alone[1].history[0].handles[0] == (14.0, 16.0)
    _assert_same_drags(alone, together)


def test_drags_that_differ_stack_apart_and_each_equals_drag(tiny_generator, stack_sizes):
    """Drags with 1 and 2 handles and a masked one in one batch: the 2-handle drags stack, the
    1-handle ones stack, the masked drag steps alone; each equals drag()."""
    G = tiny_generator.double()
    config = DragConfig(method="multiscale", steps=8, **FAST)
    handles = [HANDLES[0], [(12.0, 16.0)], HANDLES[1], [(16.0, 10.0)], HANDLES[2]]
    targets = [TARGETS[0], [(18.0, 16.0)], TARGETS[1], [(16.0, 16.0)], TARGETS[2]]
    mask = torch.zeros(32, 32, dtype=torch.float64)
    mask[4:28, 4:28] = 1
    masks = [None, None, None, None, mask]
    codes = [G.random_ws(seed) for seed in range(5)]
    alone = [drag(G, ws, h, t, mask=m, config=config) for ws, h, t, m in zip(codes, handles, targets, masks)]
    together = drag_many(G, codes, handles, targets, masks=masks, config=config, batch=5)
    assert stack_sizes and set(stack_sizes) == {2}  # drags 0 and 2, 1 and 3; the masked 4 alone
    _assert_same_drags(alone, together)
