"""drag_many: N drags as one batched optimisation give each drag drag()'s outcome, with its own
Adam state, tracking and stop; waiting drags take the places of finished ones."""

from __future__ import annotations

import threading

import pytest
import torch

from nodes.drag import DragConfig, drag
from nodes.drag.many import drag_many

FAST = dict(lr=0.03, r1=2, r2=3)
# Drags of different lengths and handle counts: the second converges early, the others run on.
HANDLES = [[(12.0, 16.0)], [(12.0, 16.0), (20.0, 12.0)], [(16.0, 10.0)], [(8.0, 8.0)]]
TARGETS = [[(18.0, 16.0)], [(18.0, 16.0), (26.0, 12.0)], [(16.0, 16.0)], [(12.0, 11.0)]]


def _codes(G, count: int = 4) -> list[torch.Tensor]:
    return [G.random_ws(seed) for seed in range(count)]


@pytest.mark.parametrize("method", ["draggan", "guarded", "multiscale"])
def test_each_drag_equals_its_own_drag_step_for_step(tiny_generator, method):
    """In float64 (free of float32's rounding, where a batched conv sums in another order) every
    drag of the batch tracks the same handles (to 1e-9 px), with the same losses, as drag() alone; three at a
    time, so the fourth starts when the first finishes."""
    G = tiny_generator.double()
    config = DragConfig(method=method, steps=12, **FAST)
    alone = [drag(G, ws, h, t, config=config) for ws, h, t in zip(_codes(G), HANDLES, TARGETS)]
    together = drag_many(G, _codes(G), HANDLES, TARGETS, config=config, batch=3)
    assert [r.steps for r in together] == [r.steps for r in alone]
    assert [r.stopped for r in together] == [r.stopped for r in alone]
    for one, many in zip(alone, together):
        torch.testing.assert_close(_tracks(many), _tracks(one), rtol=0, atol=1e-9)
        assert [e.loss for e in many.history] == pytest.approx([e.loss for e in one.history], rel=1e-9)
        torch.testing.assert_close(many.ws, one.ws, rtol=0, atol=1e-12)
        torch.testing.assert_close(torch.tensor(many.handles), torch.tensor(one.handles), rtol=0, atol=1e-9)


def test_drags_of_different_lengths_each_stop_on_their_own(tiny_generator):
    G = tiny_generator.double()
    config = DragConfig(method="draggan", steps=12, **FAST)
    results = drag_many(G, _codes(G), HANDLES, TARGETS, config=config, batch=4)
    steps = [r.steps for r in results]
    assert len(set(steps)) > 1  # some ended before the others ...
    assert all(r.stopped in ("converged", "budget") for r in results)
    assert max(steps) == 12  # ... and the rest ran on to the budget


def test_float32_batch_stays_within_rounding_of_drag(tiny_generator):
    config = DragConfig(method="draggan", steps=10, **FAST)
    alone = [drag(tiny_generator, ws, h, t, config=config) for ws, h, t in zip(_codes(tiny_generator), HANDLES, TARGETS)]
    together = drag_many(tiny_generator, torch.cat(_codes(tiny_generator)), HANDLES, TARGETS, config=config)
    for one, many in zip(alone, together):
        torch.testing.assert_close(many.ws, one.ws, rtol=1e-4, atol=1e-4)


def test_a_mask_applies_to_its_own_drag_only(tiny_generator):
    """A mask that keeps everything (M = 0) holds drag 0's image in place; drag 1, without a mask,
    moves; each equals its drag() counterpart."""
    G = tiny_generator.double()
    config = DragConfig(method="draggan", steps=6, lambda_mask=10.0, **FAST)
    masks = [torch.zeros(32, 32), None]
    codes, handles, targets = _codes(G, 2), HANDLES[:2], TARGETS[:2]
    together = drag_many(G, codes, handles, targets, masks=masks, config=config)
    for i, many in enumerate(together):
        one = drag(G, codes[i], handles[i], targets[i], mask=masks[i], config=config)
        assert [e.loss for e in many.history] == pytest.approx([e.loss for e in one.history], rel=1e-9)


def test_on_step_names_the_drag(tiny_generator):
    seen: dict[int, list[int]] = {}
    config = DragConfig(method="draggan", steps=3, **FAST)
    drag_many(tiny_generator, _codes(tiny_generator, 2), HANDLES[:2], TARGETS[:2], config=config,
              on_step=lambda i, state: seen.setdefault(i, []).append(state.step))  # fmt: skip
    assert seen == {0: [0, 1, 2], 1: [0, 1, 2]}


def test_cancel_keeps_each_drags_last_step_and_unstarted_drags_their_start(tiny_generator):
    cancel = threading.Event()
    codes = _codes(tiny_generator, 3)

    def stop_after_two(i, state):
        if state.step == 1:
            cancel.set()

    config = DragConfig(method="draggan", steps=10, **FAST)
    results = drag_many(tiny_generator, codes, HANDLES[:3], TARGETS[:3], config=config, batch=2,
                        on_step=stop_after_two, cancel=cancel)  # fmt: skip
    assert [r.stopped for r in results] == ["cancelled"] * 3
    assert [r.steps for r in results] == [2, 2, 0]
    torch.testing.assert_close(results[2].ws, codes[2])  # never began: its starting code
    assert results[2].handles == list(HANDLES[2])


def test_bad_input_names_the_drag_before_any_drag_runs(tiny_generator):
    codes = _codes(tiny_generator, 2)
    with pytest.raises(ValueError, match=r"drag 1: targets\[0\] = \(40, 3\) is outside the 32x32 image"):
        drag_many(tiny_generator, codes, HANDLES[:2], [TARGETS[0], [(40.0, 3.0), (3.0, 3.0)]])
    with pytest.raises(ValueError, match="one entry per drag"):
        drag_many(tiny_generator, codes, HANDLES[:1], TARGETS[:2])
    with pytest.raises(ValueError, match="batch must be at least 1"):
        drag_many(tiny_generator, codes, HANDLES[:2], TARGETS[:2], batch=0)


def _tracks(result) -> torch.Tensor:
    """The handles tracked at every step, [steps, N, 2] (float64 drags agree to ~1e-15)."""
    return torch.tensor([entry.handles for entry in result.history], dtype=torch.float64)
