"""DragOptimizer node: runs DragGAN's loop (nodes.drag) on a latent; re-runs when anything upstream changes.

Its params are DragConfig's fields, so the node and `nodes.drag.drag()` never disagree.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from nodegraph.node import Input, Node, Output, Param

from .trajectory import TRAJECTORY, TrajectoryRecorder
from .types import GENERATOR, IMAGE, LATENT, MASK, POINTS, LatentCode, PointPairs

LATENT_SPACE = "latent"  # the `space` choice that keeps the space the Latent node chose

# Docs of the DragConfig fields as node params; defaults, ranges and choices come from DragConfig.
PARAM_DOCS: dict[str, str] = {
    "method": "'draggan' = the paper's loop; 'guarded' = template tracking that stops pulling a lost handle; 'multiscale' = guarded, tracking on two feature scales (docs/DRAG_METHODS.md)",
    "steps": "step budget",
    "lr": "Adam learning rate; empty = the checkpoint's recommendation, else the official 0.001",
    "r1": "motion-supervision radius in px; empty = the checkpoint's recommendation, else 3 * h / 512",
    "r2": "tracking window half-size in px; empty = the checkpoint's recommendation, else 12 * h / 512",
    "lambda_mask": "weight of the term that keeps the unmasked region",
    "layers": "W+ rows optimised, from the first",
    "space": f"{LATENT_SPACE!r} = the space the Latent node chose",
    "feature_block": "synthesis block whose features drive the drag",
    "stop_px": "a handle this close to its target is done; empty = the checkpoint's recommendation, else max(2, 2h/512)",
    "tracking": "point tracking mode",
    "tracking_norm": "feature distance for tracking",
    "max_jump_px": "'consistent' tracking: longest move per step; empty = the checkpoint's recommendation, else max(2, 4h/512)",
}
SLIDER_STEPS = {"lr": 1e-4}


def _config_params() -> list[Param]:
    """One param per DragConfig field: its default, and the range or choices of its FieldRule
    (an open lower bound, e.g. lr > 0, is enforced by validate through DragConfig itself)."""
    from nodes.drag.config import FIELD_RULES, DragConfig

    params = []
    for f in dataclasses.fields(DragConfig):
        rule = FIELD_RULES[f.name]
        default, choices = f.default, rule.choices
        if f.name == "space":
            default, choices = LATENT_SPACE, (LATENT_SPACE, *choices)
        # None defaults (r1, r2, stop_px, max_jump_px) mean "scale with the image": floats.
        kind = str if choices is not None else rule.kind
        params.append(Param(
            f.name, kind, default, min=rule.low, max=rule.high, choices=choices,
            doc=PARAM_DOCS.get(f.name, ""), step=SLIDER_STEPS.get(f.name),
        ))  # fmt: skip
    return params


class DragOptimizerNode(Node):
    type_name = "DragOptimizer"
    category = "Edit"
    doc = "DragGAN: moves handle points to targets by optimising the latent (motion supervision + point tracking)."
    inputs = [
        Input("generator", GENERATOR),
        Input("latent", LATENT, doc="starting latent; a previous drag's output chains stages"),
        Input("points", POINTS, doc="handles and targets in pixels of this latent's image"),
        Input("mask", MASK, optional=True, doc="1 = may change; unlinked = everything may change"),
        Input(
            "trajectory",
            TRAJECTORY,
            optional=True,
            doc="a previous stage's trajectory: this drag's continues it",
        ),
    ]
    outputs = [
        Output("latent", LATENT, "the edited latent"),
        Output("points", POINTS, "handles where tracking left them, with the original targets"),
        Output("image", IMAGE, "the edited image"),
        Output(
            "trajectory",
            TRAJECTORY,
            "the drag as it happened: every trajectory_every-th step and the last",
        ),
    ]
    stops_early = True  # Stop keeps the drag so far: the result at step k is what steps=k gives
    params = _config_params() + [
        Param(
            "preview_every",
            int,
            10,
            min=0,
            max=10000,
            doc="send a preview image every N steps (0 = never; each costs a synthesis)",
        ),
        Param(
            "stopped_at",
            int,
            None,
            min=0,
            doc="set by Stop: the step the drag was stopped at, so it gives the kept result (at most `steps`); editing its points clears it",
        ),
        Param(
            "trajectory_every",
            int,
            5,
            min=1,
            max=10000,
            doc="record the code and points every N steps for the trajectory output (no synthesis)",
        ),
    ]

    @classmethod
    def validate(cls, params: dict) -> None:
        """DragConfig's own check (e.g. lr > 0), with 'latent' standing for either space."""
        _drag_config(params, "w+")

    def compute(
        self, ctx, generator, latent: LatentCode, points: PointPairs, mask=None, trajectory=None
    ):
        preview_every = ctx.params["preview_every"]
        config = _drag_config(ctx.params, latent.space)
        G = generator
        if not points.handles:
            raise ValueError(
                f"DragOptimizer {ctx.node_id!r} got no points: add handle/target pairs to its PointSet"
            )

        recorder = TrajectoryRecorder(
            latent.ws, points.handles, points.targets, ctx.params["trajectory_every"], mask=mask
        )

        def on_step(state) -> None:
            recorder.on_step(state)
            preview = None
            if preview_every and (state.step % preview_every == 0):
                preview = state.render()
            ctx.progress(
                state.step + 1,
                config.steps,
                preview=preview,
                message=f"distance {state.max_distance:.1f}px",
                points=[tuple(h) for h in state.handles],
            )

        result = _drag_function(ctx)(
            G,
            latent.ws.to(G.device),
            points.handles,
            points.targets,
            mask=None if mask is None else mask.to(G.device),
            config=config,
            on_step=on_step,
            cancel=ctx.cancel,
        )
        ctx.check_cancel()
        _report_end(ctx, result)
        _report_guard(ctx, result)
        distances = [math.dist(h, t) for h, t in zip(result.handles, result.targets)]
        ctx.note(steps=result.steps, converged=bool(result.converged), stopped=result.stopped,
                 distance_px=round(max(distances), 3), mean_distance_px=round(sum(distances) / len(distances), 3))  # fmt: skip
        recorded = recorder.finish(result.steps, result.ws, result.handles, distances)
        with torch.no_grad():
            image = result.image().clamp(-1, 1)
        ctx.log(
            f"{result.steps} steps, converged={result.converged}, handles at {[tuple(round(v, 1) for v in h) for h in result.handles]}"
        )
        return {
            "latent": LatentCode(
                result.ws, latent.space, latent.resolution, f"drag of {latent.source}"
            ),
            "points": PointPairs([tuple(h) for h in result.handles], list(points.targets)),
            "image": image,
            "trajectory": recorded if trajectory is None else trajectory.then(recorded),
        }


def _drag_function(ctx):
    """drag(), or, where a batch worker runs several jobs at once (ctx.share), the drag of the
    batcher they share, which steps their drags together (nodes.drag.batcher)."""
    from nodes.drag import drag

    share = ctx.share
    if share.jobs <= 1:
        return drag
    from nodes.drag.batcher import DragBatcher

    return share.get("nodes.drag.batcher", lambda: DragBatcher(batch=share.jobs)).drag


NODE_ONLY_PARAMS = (
    "preview_every",
    "stopped_at",
    "trajectory_every",
)  # the node's own params, not DragConfig's


def _drag_config(params: dict, latent_space: str):
    """The DragConfig of the node's params; `space` 'latent' becomes the latent's own space."""
    from nodes.drag import DragConfig

    fields = {name: value for name, value in params.items() if name not in NODE_ONLY_PARAMS}
    if params.get("stopped_at") is not None:  # a Stop kept the drag at this step
        fields["steps"] = min(int(fields["steps"]), int(params["stopped_at"]))
    if fields["space"] == LATENT_SPACE:
        fields["space"] = latent_space
    return DragConfig(**fields)


def _report_guard(ctx, result) -> None:
    """A guarded method's lost handles: which one, at which step (nodes.drag.guarded); the
    multiscale method's re-located arrivals: the step, the farthest move in px."""
    if result.guard_events:
        ctx.note(lost_handles=[[e.handle, e.step] for e in result.guard_events])
        ctx.warn("; ".join(e.describe() for e in result.guard_events))
    if result.relocations:  # normal work, not a warning: the facts say what the check did
        ctx.note(arrival_relocations=[[r.step, max(r.moved_px)] for r in result.relocations])


def _report_end(ctx, result) -> None:
    """A drag the user stopped keeps its result as `stopped_at` (ctx.settle); one that ran out of steps with its
    handles short of their targets ends with a warning saying how far and after how many steps
    (the budget and the stop distance are those the drag ran with: `result.config`)."""
    budget = result.config.steps
    if result.cancelled:  # only reached on finish(): a plain cancel raised in check_cancel
        ctx.settle(stopped_at=result.steps)
        ctx.log(
            f"stopped by the user at step {result.steps} of {budget}; the result so far is kept"
        )
        return
    left = max(math.dist(h, t) for h, t in zip(result.handles, result.targets))
    if result.converged or left <= result.config.stop_px:
        return
    ctx.warn(
        f"did not reach its targets: {left:.1f} px left after {result.steps} of {budget} steps "
        f"({result.stopped}); raise steps or lr, or Continue from here"
    )
