"""The drag loop (SPEC §2): Adam on the first `layers` W+ rows, one motion-supervision step and
one point-tracking pass per synthesis, until every handle reaches its target or the budget ends.

As in the official code, each step synthesises F once: the handles are tracked in it (that is the
tracking after the previous update), then the loss at those positions drives this step's update.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import torch

from nodes.gan import Generator
from nodes.gan.crop import (
    OUTSIDE_WINDOWS,
    CropPlan,
    deferred_window_checks,
    plan_crops,
    supports_crops,
)
from nodes.gan.model import ModulationMemo

from .adam import Adam
from .compiled import drag_features, uses_compiled_features
from .config import DragConfig, ResolvedConfig, recommended_settings
from .features import sample_as_resized
from .motion import mask_loss, motion_losses
from .region import feature_windows, step_reach
from .tracking import track_points
from .validation import drag_dtype, prepare_keep, prepare_pairs, prepare_ws

Points = list[tuple[float, float]]


@dataclass
class HistoryEntry:
    """One step: where the handles were (tracked before the update), the loss, their distances."""

    step: int
    handles: Points
    loss: float
    distances: list[float]


@dataclass
class DragState:
    """What on_step sees after each step; `render()` costs a full synthesis, so call it on demand.

    `ws` is the code after this step's update; `handles` are the positions tracked before it
    (the ones this step's loss pulled)."""

    step: int
    handles: Points
    targets: Points
    loss: float
    distances: list[float]
    ws: torch.Tensor
    _render: Callable[[], torch.Tensor] = field(repr=False)

    @property
    def max_distance(self) -> float:
        return max(self.distances)

    def render(self) -> torch.Tensor:
        """The image of `ws`: [1, C, H, W] in about [-1, 1]."""
        return self._render()


@dataclass
class DragResult:
    """The outcome: `ws` (detached W+), `handles` tracked at `ws`, and how the loop ended.

    `stopped` is 'converged', 'budget', 'cancelled', 'non-finite' (the loss became NaN/inf; `ws`
    is the last code with a finite loss) or 'lost' (a guarded method lost every handle).
    `guard_events` lists the handles a guarded method stopped pulling (guarded.GuardEvent);
    `relocations`, the arrivals the multiscale method's check did not confirm
    (multiscale.Relocation). `config` is what the drag ran with: the DragConfig resolved for this
    generator, the checkpoint's recommendations filled in."""

    ws: torch.Tensor
    handles: Points
    targets: Points
    steps: int
    converged: bool
    cancelled: bool
    stopped: str
    history: list[HistoryEntry]
    config: ResolvedConfig
    _render: Callable[[], torch.Tensor] = field(repr=False)
    guard_events: list = field(default_factory=list)
    relocations: list = field(default_factory=list)

    def image(self) -> torch.Tensor:
        """The image of the final code: [1, C, H, W] in about [-1, 1]."""
        return self._render()


class Formulation(Protocol):
    """How one step computes F, tracks and scores: the engine's, or the official one (baseline)."""

    def features(
        self, ws: torch.Tensor, handles: torch.Tensor | None = None, extra_reach: int | None = None
    ) -> torch.Tensor: ...
    def track(self, feat: torch.Tensor, handles: torch.Tensor) -> torch.Tensor: ...
    def loss(
        self, feat: torch.Tensor, handles: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor: ...


class SampledFormulation:
    """The engine: F from the feature block only (nothing above it is synthesised), sampled at
    the patch, shifted-patch and window points; f_i = F0(p_i) sampled once.

    Given the handles, F is computed only on the windows the step reads around them (cropped
    synthesis, nodes.gan.crop), exact there, when the generator supports it, cropping pays and
    there is no mask (the mask term reads the whole map). `crop_start_block` forces the lowest
    cropped block (None: the cost model chooses)."""

    # A subclass that reads the blocks below F sets this: features() then keeps their maps
    # ({block: map}, detached) in `lower_maps`.
    keeps_lower = False
    # False: F always on the whole map, never cropped (the reference crops are checked against;
    # `bench drag --whole-map`).
    crops = True

    def __init__(
        self,
        G: Generator,
        ws0: torch.Tensor,
        handles: torch.Tensor,
        keep: torch.Tensor | None,
        cfg: ResolvedConfig,
        crop_start_block: int | None = None,
    ):
        self.G, self.cfg, self.keep = G, cfg, keep
        self.crop_start_block = crop_start_block
        self.extra_reach = getattr(self, "extra_reach", 0)  # a subclass reading farther sets it
        self.memo = ModulationMemo(fixed_rows=True)  # rows past `layers`: the start's, modulated once
        self.lower_maps: dict = {}  # with keeps_lower: the latest features() call's blocks below F
        with torch.no_grad():
            feat0 = self.features(ws0, handles)
        self.reference = sample_as_resized(feat0, handles, cfg.image_size)  # f_i, [N, C]
        self.feat0 = feat0 if keep is not None else None

    def features(
        self, ws: torch.Tensor, handles: torch.Tensor | None = None, extra_reach: int | None = None
    ) -> torch.Tensor:
        """F at ws: exact inside the windows around `handles` (None: the whole map), which reach
        a step's reach plus `extra_reach` px (None: the formulation's own)."""
        cfg = self.cfg
        lower = {} if self.keeps_lower else None
        feat = drag_features(self.G, ws, cfg, self.memo, lower, self.crop_plan(handles, extra_reach))
        if lower is not None:
            self.keep_lower_maps(lower)
        return feat

    def start_from(self, feat: torch.Tensor) -> None:
        """The first step's F: the mask term's F0 is taken from it. drag()'s own synthesis gives
        F0 exactly again, but a batch's (nodes.drag.many) differs by float rounding, and the L1
        term's gradient at a difference of 1e-15 is as large as at any other: the first Adam step
        would be kicked by rounding noise."""
        if self.keep is not None:
            self.feat0 = feat.detach().clone()  # a compiled F's memory is the next step's (CUDA graphs)

    def keep_lower_maps(self, lower: dict) -> None:
        """With keeps_lower: the maps of the blocks below F that came with the latest F ({block:
        map}), from features() or from a batched synthesis (nodes.drag.many)."""
        self.lower_maps = {block: value.detach() for block, value in lower.items()}

    def crop_plan(self, handles: torch.Tensor | None, extra_reach: int | None = None) -> CropPlan | None:
        """The cropped synthesis of one step around `handles`, or None for the whole map (always
        with compiled features: nodes.drag.compiled)."""
        cfg = self.cfg
        if handles is None or not self.crops or self.keep is not None or not supports_crops(self.G):
            return None
        if uses_compiled_features(self.G):
            return None
        feature_size = self.G.block_resolutions[cfg.feature_block]
        reach = step_reach(cfg.r1, cfg.r2) + (self.extra_reach if extra_reach is None else extra_reach)
        windows = feature_windows(handles, cfg.image_size, feature_size, reach)
        return plan_crops(self.G, cfg.feature_block, windows, self.crop_start_block)

    # Drags of this formulation step together as one stack in a batch (nodes.drag.stacked), with
    # these per-handle tensors stacked: those tracking reads, and those it updates.
    stackable = True
    fixed_state: tuple[str, ...] = ("reference",)
    tracked_state: tuple[str, ...] = ()

    @torch.no_grad()
    def track_all(self, feat, handles: torch.Tensor, tracked: torch.Tensor | None = None):
        """track() without a device sync, for a stack: the handles tracked in `feat`, those of
        `tracked` only ([N] bool) when given; and the handles newly lost (None: this method loses
        none)."""
        found = self.track(feat, handles)
        return (found if tracked is None else torch.where(tracked.unsqueeze(1), found, handles)), None

    def track(self, feat: torch.Tensor, handles: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        return track_points(
            feat,
            handles,
            self.reference,
            cfg.image_size,
            cfg.r2,
            cfg.tracking,
            cfg.tracking_norm,
            cfg.max_jump_px,
        )

    def loss(
        self, feat: torch.Tensor, handles: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        cfg = self.cfg
        loss = self.handle_losses(feat, handles, targets).sum()
        if self.keep is not None:
            loss = loss + mask_loss(feat, self.feat0, self.keep, cfg.lambda_mask)
        return loss

    def handle_losses(self, feat, handles: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Each handle's motion term ([N], motion.motion_losses)."""
        cfg = self.cfg
        return motion_losses(feat, handles, targets, cfg.r1, cfg.stop_px, cfg.image_size)


class LatentVariable:
    """The drag's optimised variable (as invert's LatentVariable is the inversion's): the first
    `layers` W+ rows ('w+') or one w broadcast to them ('w'); the remaining rows stay those of
    the starting code."""

    def __init__(self, ws0: torch.Tensor, layers: int, space: str):
        self.ws0, self.layers = ws0, layers
        self.broadcast = space == "w"
        start = ws0[:, :1] if self.broadcast else ws0[:, :layers]
        self.variable = start.clone().requires_grad_(True)

    def ws(self) -> torch.Tensor:
        head = self.variable.expand(-1, self.layers, -1) if self.broadcast else self.variable
        return torch.cat([head, self.ws0[:, self.layers :]], dim=1)


def drag(
    G: Generator,
    ws: torch.Tensor,
    handles: Sequence | torch.Tensor,
    targets: Sequence | torch.Tensor,
    mask: torch.Tensor | None = None,
    config: DragConfig | None = None,
    on_step: Callable[[DragState], None] | None = None,
    cancel=None,
) -> DragResult:
    """Drag `handles` ((x, y) image pixels) to `targets` by optimising the latent code (DragGAN).

    `ws`: W+ [1, num_ws, w_dim] or w [1, w_dim]; `mask`: [H, W], 1 = may change, 0 = keep.
    `on_step(state)` runs after every step; `cancel` (threading.Event-like, `is_set()`) is checked
    before every step and ends the drag at the last completed step."""
    return run_drag(G, ws, handles, targets, mask, config, on_step, cancel, formulation_of(config))


def formulation_of(config: DragConfig | None) -> Callable[..., Formulation]:
    """The step formulation of DragConfig.method (docs/DRAG_METHODS.md)."""
    method = (config or DragConfig()).method
    if method == "draggan":
        return SampledFormulation
    if method == "multiscale":
        from .multiscale import MultiscaleFormulation

        return MultiscaleFormulation
    from .guarded import GuardedFormulation

    return GuardedFormulation


def run_drag(
    G,
    ws,
    handles,
    targets,
    mask,
    config,
    on_step,
    cancel,
    formulation: Callable[..., Formulation],
) -> DragResult:
    """drag() with the step formulation as a parameter (the benchmark runs the official one)."""
    run = DragRun(G, ws, handles, targets, mask, config, formulation, on_step)
    while run.stopped is None:
        if cancel is not None and cancel.is_set():
            run.stopped = "cancelled"
            break
        loss = run.loss(run.features())
        if loss is None:
            break
        loss.backward()
        run.update()
    return run.result()


class DragRun:
    """One drag between its steps: the formulation, the optimised code and its Adam state, the
    tracked handles and the history. run_drag drives one; many.drag_many drives several on one
    batched synthesis.

    A step: `feat` = F at `ws()` (`features()`, the formulation's own synthesis, or this drag's
    slice of a batched one) -> `loss(feat)` (tracks the handles, checks for the end: None once
    the drag has ended, `stopped` says why) -> backward -> `update(loss)`."""

    def __init__(self, G, ws, handles, targets, mask, config, formulation, on_step=None):
        self.G = G
        self.cfg = cfg = (config or DragConfig()).resolve(
            G.img_resolution, len(G.block_resolutions), G.num_ws, recommended_settings(G)
        )
        ws0 = prepare_ws(G, ws)
        dtype = drag_dtype(G)
        self.handles, self.targets = prepare_pairs(handles, targets, cfg.image_size, G.device, dtype)
        keep = prepare_keep(mask, cfg.image_size, G.device, dtype)
        self.form = formulation(G, ws0, self.handles, keep, cfg)
        self.latent = LatentVariable(ws0, cfg.layers, cfg.space)
        self.optimizer = Adam(self.latent.variable, lr=cfg.lr)
        self.on_step = on_step
        self.target_points = as_points(self.targets)  # for on_step's states
        self.history: list[HistoryEntry] = []
        self.step = 0
        self.stopped: str | None = None if cfg.steps > 0 else "budget"
        self.tracked_at_latest = True  # the handles were tracked at the current code
        self.distances: torch.Tensor | None = None  # this step's, for the history
        self.figures: tuple | None = None  # this step's loss, handles and distances, as numbers
        self.active = getattr(self.form, "active", None)  # a guarded method's handles not lost
        self.check_arrival = getattr(self.form, "check_arrival", None)  # a costlier second look

    def ws(self) -> torch.Tensor:
        """The current W+ code, in the graph of the optimised variable."""
        return self.latent.ws()

    def features(self) -> torch.Tensor:
        """F at the current code, synthesised for this drag alone (cropped where that pays: its
        windows from the handles as the last step's figures hold them, no device sync)."""
        handles = self.handles
        if self.figures is not None:  # the handles this step starts from, as numbers already
            handles = torch.tensor(self.figures[1], dtype=torch.float64)
        return self.form.features(self.ws(), handles)

    def loss(self, feat) -> torch.Tensor | None:
        """This step's loss on `feat` (F at `ws()`), after tracking the handles in it; None when
        the drag ends here (`stopped`: converged, lost or non-finite). Two device syncs: the
        checks after tracking, and the step's figures (kept in `figures` for update); a cropped
        F's window checks come with them (nodes.gan.crop.deferred_window_checks)."""
        with deferred_window_checks() as misses:
            return self._loss(feat, misses)

    def _loss(self, feat, misses: list[torch.Tensor]) -> torch.Tensor | None:
        cfg, form = self.cfg, self.form
        if self.step > 0:
            self.handles = form.track(feat, self.handles)
            self.tracked_at_latest = True
        elif hasattr(form, "start_from"):
            form.start_from(feat)
        settled = (self.targets - self.handles).norm(dim=-1) <= cfg.stop_px
        active = None if self.active is None else self.active()
        if active is not None:  # a guarded method's lost handles no longer count
            settled = settled | ~active
        checks = [settled.all(), settled.new_ones(()) if active is None else active.any()]
        all_settled, any_active, *missed = torch.stack(checks + misses).tolist()
        _check_windows(missed, misses)
        if not self.goes_on(any_active, all_settled):
            return None
        distances = (self.targets - self.handles).norm(dim=-1)
        loss = form.loss(feat, self.handles, self.targets)
        row = figure_rows(loss, self.handles, distances)
        if misses:
            row = torch.cat([row, torch.stack(misses).any().to(row.dtype).view(1, 1)], 1)
        row = row[0].tolist()  # one transfer: the loss, handles, distances, window checks
        count = len(distances)
        _check_windows(row[3 * count + 1 :], misses)
        if not math.isfinite(row[0]):
            self.stopped = "non-finite"
            return None
        self.figures = read_figures(row, count)
        self.distances = distances
        return loss

    def goes_on(self, any_active: bool, all_settled: bool) -> bool:
        """After tracking: whether this step pulls, given whether any handle is still pulled (a
        guarded method's, not lost) and whether all of them are within stop_px. Every handle
        settled asks the formulation's arrival check (which may move the handles and pull on);
        else the drag has converged. False: the drag ends here, `stopped` says why."""
        if not any_active:
            self.stopped = "lost"
            return False
        if all_settled:
            found = None if self.check_arrival is None else self.check_arrival(self.ws().detach(), self.handles, self.targets)
            if found is None:
                self.stopped = "converged"
                return False
            self.handles = found
        return True

    def update(self, figures: tuple[float, Points, list[float]] | None = None, stepped: bool = False) -> None:
        """After the backward of this step's loss (from loss()): Adam's step, the history,
        on_step; the drag ends when its budget is spent. The history takes the step's `figures`
        (the loss's value, the handles and their distances, as Python numbers), those loss() kept
        unless a stacked batch (nodes.drag.stacked) passes them; a batch may have made the Adam
        steps of all its drags at once (`stepped`, Adam.step_all)."""
        if not stepped:
            self.optimizer.step()
        self.optimizer.zero_grad()
        self.tracked_at_latest = False
        value, handles, distances = self.figures = figures or self.figures
        entry = HistoryEntry(self.step, handles, value, distances)
        self.history.append(entry)
        self.step += 1
        if self.step >= self.cfg.steps:
            self.stopped = "budget"
        if self.on_step is not None:
            self.on_step(_state(self.G, self.cfg, entry, self.target_points, self.ws().detach()))

    def result(self) -> DragResult:
        """The outcome, with the handles tracked at the final code."""
        final_ws = self.ws().detach()
        handles = self.handles
        if not self.tracked_at_latest:
            with torch.no_grad():
                handles = self.form.track(self.form.features(final_ws, handles), handles)
        stopped = self.stopped or "cancelled"
        return DragResult(
            ws=final_ws,
            handles=as_points(handles),
            targets=as_points(self.targets),
            steps=len(self.history),
            converged=stopped == "converged",
            cancelled=stopped == "cancelled",
            stopped=stopped,
            history=self.history,
            config=self.cfg,
            _render=_renderer(self.G, final_ws, self.cfg.noise_mode),
            guard_events=list(getattr(self.form, "events", [])),
            relocations=list(getattr(self.form, "relocations", [])),
        )


def _state(G: Generator, cfg: ResolvedConfig, entry: HistoryEntry, targets: Points, ws: torch.Tensor) -> DragState:
    return DragState(
        step=entry.step,
        handles=entry.handles,
        targets=list(targets),
        loss=entry.loss,
        distances=entry.distances,
        ws=ws,
        _render=_renderer(G, ws, cfg.noise_mode),
    )


def _renderer(G: Generator, ws: torch.Tensor, noise_mode: str) -> Callable[[], torch.Tensor]:
    def render() -> torch.Tensor:
        with torch.no_grad():
            return G.synthesis(ws, noise_mode=noise_mode)

    return render


def _check_windows(missed: list, misses: list[torch.Tensor]) -> None:
    """A drag step's deferred CroppedMap checks, read back: raise if a read missed its windows."""
    if any(missed):
        raise ValueError(OUTSIDE_WINDOWS)
    misses.clear()


def figure_rows(losses: torch.Tensor, handles: torch.Tensor, distances: torch.Tensor) -> torch.Tensor:
    """The history's figures of B drags of N handles each ([B] losses, [B * N, 2] handles, [B * N]
    distances; B = 1 for one drag) as rows [B, 1 + 3N] for one transfer: the loss, x0, y0, x1, y1,
    ..., then the distances (read_figures reads a row back)."""
    count = distances.numel() // losses.numel()
    return torch.cat(
        [losses.detach().reshape(-1, 1), handles.reshape(-1, 2 * count), distances.reshape(-1, count)], 1
    )


def read_figures(row: list[float], count: int) -> tuple[float, Points, list[float]]:
    """A figure_rows row, read back: (loss, handles [(x, y)], distances) of `count` handles."""
    points = list(zip(row[1 : 2 * count + 1 : 2], row[2 : 2 * count + 1 : 2]))
    return row[0], points, row[2 * count + 1 : 3 * count + 1]


def as_points(tensor: torch.Tensor) -> Points:
    """[N, 2] positions as a list of (x, y) floats."""
    return [(float(x), float(y)) for x, y in tensor.tolist()]
