"""The drag loop: which rows move, progress callbacks, cancel, convergence, input validation."""

from __future__ import annotations

import threading

import pytest
import torch

from nodes.drag import DragConfig, drag

HANDLE, TARGET = [(12.0, 16.0)], [(18.0, 16.0)]
FAST = dict(lr=0.03, r1=2, r2=3)


def test_only_the_first_layers_rows_change(tiny_generator):
    ws0 = tiny_generator.random_ws(0)
    result = drag(
        tiny_generator, ws0, HANDLE, [(30.0, 16.0)], config=DragConfig(steps=2, layers=3, **FAST)
    )
    assert result.steps == 2
    torch.testing.assert_close(result.ws[:, 3:], ws0[:, 3:], rtol=0, atol=0)
    assert not torch.equal(result.ws[:, :3], ws0[:, :3])


def test_w_space_moves_one_w_shared_by_the_first_rows(tiny_generator):
    ws0 = tiny_generator.random_ws(0)
    result = drag(
        tiny_generator,
        ws0[:, 0],
        HANDLE,
        [(30.0, 16.0)],
        config=DragConfig(steps=2, layers=4, space="w", **FAST),
    )
    head = result.ws[0, :4]
    assert torch.equal(head, head[:1].expand_as(head))
    assert not torch.equal(head[0], ws0[0, 0])
    torch.testing.assert_close(result.ws[:, 4:], ws0[:, 4:], rtol=0, atol=0)


def test_handle_moves_toward_a_close_target(tiny_generator):
    # A random 32 px generator is a poor model to drag: this handle is one where it works.
    handle, target = (20.0, 12.0), (26.0, 12.0)
    result = drag(
        tiny_generator,
        tiny_generator.random_ws(0),
        [handle],
        [target],
        config=DragConfig(method="draggan", steps=20, **FAST),
    )
    start = result.history[0].distances[0]
    end = ((result.handles[0][0] - target[0]) ** 2 + (result.handles[0][1] - target[1]) ** 2) ** 0.5
    assert end < start
    assert result.converged and result.stopped == "converged"


def test_on_step_is_called_every_step_and_renders_only_on_demand(tiny_generator):
    full_syntheses = []
    tiny_generator.synthesis.b32.torgb.register_forward_hook(lambda *args: full_syntheses.append(1))
    states = []
    drag(
        tiny_generator,
        tiny_generator.random_ws(0),
        HANDLE,
        [(30.0, 16.0)],
        config=DragConfig(steps=3, **FAST),
        on_step=states.append,
    )
    assert [state.step for state in states] == [0, 1, 2]
    assert full_syntheses == []  # optimisation never synthesises the image
    image = states[-1].render()
    assert list(image.shape) == [1, 3, 32, 32] and len(full_syntheses) == 1
    assert states[0].loss > 0 and len(states[0].distances) == 1


def test_cancel_returns_the_last_completed_step_marked_cancelled(tiny_generator):
    cancel = threading.Event()
    states = []

    def on_step(state):
        states.append(state)
        if state.step == 1:
            cancel.set()

    result = drag(
        tiny_generator,
        tiny_generator.random_ws(0),
        HANDLE,
        [(30.0, 16.0)],
        config=DragConfig(steps=10, **FAST),
        on_step=on_step,
        cancel=cancel,
    )
    assert result.cancelled and not result.converged and result.stopped == "cancelled"
    assert result.steps == 2 and len(result.history) == 2
    torch.testing.assert_close(result.ws, states[-1].ws, rtol=0, atol=0)
    assert list(result.image().shape) == [1, 3, 32, 32]


def test_handles_already_at_their_targets_converge_without_a_step(tiny_generator):
    ws0 = tiny_generator.random_ws(0)
    result = drag(tiny_generator, ws0, HANDLE, [(13.0, 16.0)], config=DragConfig(steps=5))
    assert result.converged and result.steps == 0
    torch.testing.assert_close(result.ws, ws0, rtol=0, atol=0)


def test_small_models_get_radii_of_at_least_one_and_two_pixels_and_the_last_block():
    cfg = DragConfig().resolve(img_resolution=32, num_blocks=4, num_ws=8)
    assert (cfg.r1, cfg.r2, cfg.stop_px, cfg.feature_block) == (1.0, 2, 2.0, 3)
    official = DragConfig().resolve(img_resolution=512, num_blocks=8, num_ws=16)
    assert (official.r1, official.r2, official.stop_px, official.feature_block) == (3.0, 12, 2.0, 5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(handles=[(1.0, 1.0), (2.0, 2.0)]), "same length"),
        (dict(handles=[(40.0, 1.0)]), "outside the 32x32 image"),
        (dict(targets=[(-1.0, 1.0)]), "outside the 32x32 image"),
        (dict(handles=[(float("nan"), 1.0)]), "NaN or infinite"),
        (dict(handles=[]), "non-empty"),
        (dict(mask=torch.ones(16, 16)), "mask must have shape \\[32, 32\\]"),
        (dict(mask=torch.full((32, 32), 2.0)), "in \\[0, 1\\]"),
        (dict(ws=torch.zeros(1, 3, 16)), "ws must have shape"),
        (dict(ws=torch.full((1, 16), float("inf"))), "ws contains NaN"),
        (dict(config=DragConfig(layers=99)), "layers=99 exceeds"),
    ],
)
def test_bad_input_gets_a_clear_value_error(tiny_generator, kwargs, message):
    args = dict(
        ws=tiny_generator.random_ws(0),
        handles=HANDLE,
        targets=TARGET,
        mask=None,
        config=DragConfig(steps=1),
    )
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        drag(tiny_generator, **args)


@pytest.mark.parametrize(
    "field, value",
    [
        ("tracking", "magic"),
        ("tracking_norm", "l3"),
        ("space", "z"),
        ("lr", 0.0),
        ("steps", -1),
        ("r1", float("nan")),
        ("noise_mode", "loud"),
    ],
)
def test_bad_config_gets_a_value_error_naming_the_field(field, value):
    with pytest.raises(ValueError, match=f"DragConfig.{field}"):
        DragConfig(**{field: value})


def test_adam_makes_torch_adams_updates():
    from nodes.drag.adam import Adam

    target = torch.randn(3, 5, generator=torch.Generator().manual_seed(0))
    ours = torch.zeros(3, 5, requires_grad=True)
    theirs = torch.zeros(3, 5, requires_grad=True)
    optimizers = [Adam(ours, lr=0.01), torch.optim.Adam([theirs], lr=0.01)]
    for _ in range(20):
        for variable, optimizer in zip((ours, theirs), optimizers):
            optimizer.zero_grad()
            ((variable - target) ** 3).abs().sum().backward()
            optimizer.step()
    torch.testing.assert_close(ours, theirs, rtol=0, atol=0)


def test_adam_step_all_equals_each_optimizers_own_step():
    """Adam.step_all (foreach ops, a batch's drags at once) makes each optimizer's own update
    exactly, with optimizers at different step counts and two learning rates."""
    from nodes.drag.adam import Adam

    generator = torch.Generator().manual_seed(0)
    starts = [torch.randn(1, 3, 8, generator=generator) for _ in range(4)]
    lrs = [0.01, 0.01, 0.002, 0.01]
    apart = [Adam(start.clone().requires_grad_(True), lr) for start, lr in zip(starts, lrs)]
    together = [Adam(start.clone().requires_grad_(True), lr) for start, lr in zip(starts, lrs)]
    for step in range(5):
        for i, (one, other) in enumerate(zip(apart, together)):
            if step == 0 and i == 3:
                continue  # the fourth joins a step late: its count differs from the others'
            grad = torch.randn(1, 3, 8, generator=generator)
            one.variable.grad, other.variable.grad = grad.clone(), grad.clone()
        for one in apart:
            one.step()
        Adam.step_all(together)
        for one, other in zip(apart, together):
            assert one.steps == other.steps
            assert torch.equal(one.variable, other.variable)
            one.zero_grad()
            other.zero_grad()
    assert [o.steps for o in together] == [5, 5, 5, 4]


@pytest.mark.parametrize("method", ["draggan", "multiscale"])
def test_a_steady_step_reads_back_from_the_device_twice(tiny_generator, monkeypatch, method):
    """On a GPU every read of a tensor's values on the host (bool, item, tolist, equal, nonzero)
    waits for the device: a drag step makes two, its checks after tracking and its figures. The
    reads are counted on this step's tensors of the drag's dtype (float32, bool, int64); the crop
    plan's own arithmetic is float64 and int32 on the CPU."""
    from nodes.drag.loop import formulation_of, run_drag

    counted = {torch.float32, torch.bool, torch.int64}
    reads: list[str] = []
    profiling = [False]

    def counting(name, read):
        def wrapper(self, *args, **kwargs):
            if profiling[0] and self.dtype in counted:
                reads.append(name)
            return read(self, *args, **kwargs)

        return wrapper

    for name in ("__bool__", "item", "tolist", "__float__", "nonzero"):
        monkeypatch.setattr(torch.Tensor, name, counting(name, getattr(torch.Tensor, name)))
    equal = torch.equal
    monkeypatch.setattr(torch, "equal", lambda a, b: (profiling[0] and reads.append("equal")) or equal(a, b))

    def on_step(state) -> None:  # step 2, from the end of step 1's update to the end of its own
        profiling[0] = state.step == 1

    config = DragConfig(method=method, steps=3, stop_px=0.0, r1=2, r2=3)
    ws = tiny_generator.random_ws(0)
    handles, targets = [(12.0, 16.0), (20.0, 12.0)], [(18.0, 16.0), (26.0, 12.0)]
    run_drag(tiny_generator, ws, handles, targets, None, config, on_step, None, formulation_of(config))
    assert reads == ["tolist", "tolist"]
