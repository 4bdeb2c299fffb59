"""DragBatcher: drags handed to it from several threads are stepped together, each giving
drag()'s own result; one drag's failure or cancel stays its own."""

from __future__ import annotations

import threading

import pytest
import torch

from nodes.drag import DragConfig, drag
from nodes.drag.batcher import DragBatcher

FAST = dict(lr=0.03, r1=2, r2=3)
HANDLES = [[(12.0, 16.0)], [(12.0, 16.0), (20.0, 12.0)], [(16.0, 10.0)]]
TARGETS = [[(18.0, 16.0)], [(18.0, 16.0), (26.0, 12.0)], [(16.0, 16.0)]]


def _in_threads(batcher: DragBatcher, calls: list) -> list:
    """Runs each call (a function of the batcher's drag) in its own thread, all released at once;
    returns each one's result or the exception it raised."""
    outcomes: list = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def worker(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = calls[i](batcher.drag)
        except Exception as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return outcomes


def test_threads_drags_are_stepped_together_and_each_equals_drag_alone(tiny_generator):
    G = tiny_generator.double()
    config = DragConfig(method="multiscale", steps=10, **FAST)
    codes = [G.random_ws(seed) for seed in range(3)]
    alone = [drag(G, ws, h, t, config=config) for ws, h, t in zip(codes, HANDLES, TARGETS)]
    batcher = DragBatcher()
    calls = [lambda drag, i=i: drag(G, codes[i], HANDLES[i], TARGETS[i], config=config) for i in range(3)]
    together = _in_threads(batcher, calls)
    for one, many in zip(alone, together):
        assert isinstance(many, type(one)), many
        torch.testing.assert_close(_tracks(many), _tracks(one), rtol=0, atol=1e-9)
        torch.testing.assert_close(many.ws, one.ws, rtol=0, atol=1e-12)
    assert batcher.steps < sum(r.steps for r in alone)  # steps were shared


def test_a_failing_on_step_fails_its_own_drag_only(tiny_generator):
    config = DragConfig(method="draggan", steps=6, **FAST)
    codes = [tiny_generator.random_ws(seed) for seed in range(2)]

    def broken(state):
        if state.step == 2:
            raise RuntimeError("preview failed")

    calls = [
        lambda drag: drag(tiny_generator, codes[0], HANDLES[0], TARGETS[0], config=config, on_step=broken),
        lambda drag: drag(tiny_generator, codes[1], HANDLES[1], TARGETS[1], config=config),
    ]
    failed, finished = _in_threads(DragBatcher(), calls)
    assert isinstance(failed, RuntimeError) and "preview failed" in str(failed)
    assert finished.steps == 6


def test_a_cancelled_drag_keeps_its_last_step_and_the_others_go_on(tiny_generator):
    config = DragConfig(method="draggan", steps=8, **FAST)
    codes = [tiny_generator.random_ws(seed) for seed in range(2)]
    cancel = threading.Event()

    def stop_at_three(state):
        if state.step == 2:
            cancel.set()

    calls = [
        lambda drag: drag(tiny_generator, codes[0], HANDLES[0], TARGETS[0], config=config, on_step=stop_at_three, cancel=cancel),
        lambda drag: drag(tiny_generator, codes[1], HANDLES[1], TARGETS[1], config=config),
    ]
    cancelled, finished = _in_threads(DragBatcher(), calls)
    assert cancelled.stopped == "cancelled" and cancelled.steps == 3
    assert finished.stopped in ("budget", "converged") and finished.steps > 3


def test_bad_input_is_the_callers_error_at_once(tiny_generator):
    with pytest.raises(ValueError, match="outside the 32x32 image"):
        DragBatcher().drag(tiny_generator, tiny_generator.random_ws(0), [(40.0, 1.0)], [(1.0, 1.0)])


def _tracks(result) -> torch.Tensor:
    """The handles tracked at every step, [steps, N, 2] (float64 drags agree to ~1e-15)."""
    return torch.tensor([entry.handles for entry in result.history], dtype=torch.float64)
