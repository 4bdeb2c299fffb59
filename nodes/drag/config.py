"""DragGAN's knobs with the official defaults (SPEC §2), and their values resolved for one generator.

`DragConfig` is what a user sets; `ResolvedConfig` holds the pixel radii, thresholds and feature
block that follow from it for a given image size, and from the settings a checkpoint recommends
(SPEC §5: a field left empty takes the checkpoint's recommendation, else the official default).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from nodes.gan.model import LATENT_SPACES, NOISE_MODES

TRACKING_MODES = ("nn", "subpixel", "consistent")
METHODS = ("draggan", "guarded", "multiscale")  # docs/DRAG_METHODS.md
TRACKING_NORMS = ("l2", "l1")
OFFICIAL_LR = 0.001  # the official GUI's Adam lr (the paper reports 2e-3 for FFHQ)
RECOMMENDATIONS_KEY = "drag_defaults"  # GeneratorConfig.extra key: {field: value} a model suggests
RECOMMENDABLE = ("lr", "r1", "r2", "stop_px", "max_jump_px")  # the fields whose None means "default"


@dataclass(frozen=True)
class FieldRule:
    """What DragConfig accepts in one field: a number of `kind` in [low, high] (above `low`
    when `low_open`), or one of `choices`; also None when `optional`. The DragOptimizer node
    takes its params' ranges and choices from these, so the node and drag() never disagree."""

    kind: type
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    choices: tuple[str, ...] | None = None
    optional: bool = False

    def accepts(self, value) -> bool:
        if value is None:
            return self.optional
        if self.choices is not None:
            return value in self.choices
        if self.kind is int and not (isinstance(value, int) and not isinstance(value, bool)):
            return False
        if not _finite(value):
            return False
        above_low = self.low is None or (value > self.low if self.low_open else value >= self.low)
        return above_low and (self.high is None or value <= self.high)

    def describe(self) -> str:
        if self.choices is not None:
            return f"one of {self.choices}"
        kind = "an integer" if self.kind is int else "a finite number"
        bounds = [f"{'>' if self.low_open else '>='} {self.low}"] if self.low is not None else []
        bounds += [f"<= {self.high}"] if self.high is not None else []
        return ("None or " if self.optional else "") + " ".join([kind, " and ".join(bounds)]).strip()


FIELD_RULES: dict[str, FieldRule] = {
    "method": FieldRule(str, choices=METHODS),
    "steps": FieldRule(int, 0, 100_000),
    "lr": FieldRule(float, 0, 1.0, low_open=True, optional=True),
    "r1": FieldRule(float, 0, 64, low_open=True, optional=True),
    "r2": FieldRule(float, 1, 128, optional=True),
    "lambda_mask": FieldRule(float, 0, 1000),
    "layers": FieldRule(int, 1),  # at most the generator's num_ws: checked by resolve
    "space": FieldRule(str, choices=LATENT_SPACES),
    "feature_block": FieldRule(int, 0, 16),
    "stop_px": FieldRule(float, 0, 64, optional=True),
    "noise_mode": FieldRule(str, choices=NOISE_MODES),
    "tracking": FieldRule(str, choices=TRACKING_MODES),
    "tracking_norm": FieldRule(str, choices=TRACKING_NORMS),
    "max_jump_px": FieldRule(float, 0, 64, low_open=True, optional=True),
}


@dataclass
class DragConfig:
    """Settings of one drag. Radii, thresholds and jumps are in image pixels. A `RECOMMENDABLE`
    field left None takes the checkpoint's recommendation (`recommended_settings`), else the
    official default below.

    - `method`: 'draggan' (the paper's loop), 'guarded' (template tracking with a confidence
      per handle, supervision from the template where it is low, lost handles no longer pulled;
      `tracking` does not apply) or 'multiscale' (the default: guarded, tracking a wider patch
      on F and the block below it, the last pull stopping at the target). See
      docs/DRAG_METHODS.md.
    - `steps`: step budget. `lr`: Adam learning rate; default the checkpoint's recommendation,
      else the official GUI's 0.001 (the paper reports 2e-3).
    - `r1`: motion-supervision patch radius (pixels q with ||q - p|| < r1); default 3 * h / 512
      rounded as the official code does, never below 1.
    - `r2`: half-size of the square tracking window; default 12 * h / 512 rounded, never below 2.
    - `lambda_mask`: weight of the term that keeps features outside the mask (official default 10).
    - `layers`: number of W+ rows optimised, from the first (6: they shape geometry).
    - `space`: 'w+' optimises those rows independently; 'w' optimises one w broadcast to them.
    - `feature_block`: synthesis block whose output is F (5 = 128x128 at 512 px); clamped to the
      generator's last block for small models.
    - `stop_px`: a handle this close to its target is no longer pulled; all close = converged.
      Default max(2, 2 * h / 512).
    - `tracking`: 'nn' (the paper's nearest neighbour), 'subpixel' (nn refined by a parabola fit
      of the distance surface), 'consistent' (nn that refuses a jump longer than `max_jump_px`).
    - `tracking_norm`: 'l2' (official code) or 'l1' (paper) over feature channels.
    - `max_jump_px`: longest move per step allowed in 'consistent' tracking; default
      max(2, 4 * h / 512) (the content moves about 1 px per step).
    """

    method: str = "multiscale"
    steps: int = 300
    lr: float | None = None
    r1: float | None = None
    r2: float | None = None
    lambda_mask: float = 10.0
    layers: int = 6
    space: str = "w+"
    feature_block: int = 5
    stop_px: float | None = None
    noise_mode: str = "const"
    tracking: str = "nn"
    tracking_norm: str = "l2"
    max_jump_px: float | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the field and the fix for any setting out of range."""
        for name, rule in FIELD_RULES.items():
            value = getattr(self, name)
            _check(rule.accepts(value), name, value, rule.describe())

    def resolve(
        self,
        img_resolution: int,
        num_blocks: int,
        num_ws: int,
        recommended: Mapping[str, float] | None = None,
    ) -> ResolvedConfig:
        """The concrete values for a generator of this size (SPEC §2: radii scale with h / 512).
        An empty field takes `recommended` (the checkpoint's, see `recommended_settings`) first."""
        self.validate()
        h = img_resolution
        if self.layers > num_ws:
            raise ValueError(
                f"DragConfig.layers={self.layers} exceeds the generator's num_ws={num_ws}; use 1..{num_ws}"
            )
        filled = DragConfig(**{**asdict(self), **_recommendations_for(self, recommended)})
        r1 = float(filled.r1) if filled.r1 is not None else float(max(1, round(3 * h / 512)))
        r2 = int(round(filled.r2)) if filled.r2 is not None else max(2, round(12 * h / 512))
        stop_px = float(filled.stop_px) if filled.stop_px is not None else max(2.0, 2 * h / 512)
        max_jump = (
            float(filled.max_jump_px) if filled.max_jump_px is not None else max(2.0, 4 * h / 512)
        )
        return ResolvedConfig(
            image_size=h,
            feature_block=min(self.feature_block, num_blocks - 1),
            r1=r1,
            r2=r2,
            stop_px=stop_px,
            max_jump_px=max_jump,
            lr=float(filled.lr) if filled.lr is not None else OFFICIAL_LR,
            **{
                k: v
                for k, v in asdict(self).items()
                if k not in ("r1", "r2", "stop_px", "max_jump_px", "feature_block", "lr")
            },
        )


def recommended_settings(G) -> dict:
    """The drag settings a generator's checkpoint recommends (`RECOMMENDATIONS_KEY` in its
    config's `extra`), {} for none. Official models carry none and keep the official defaults."""
    extra = getattr(getattr(G, "config", None), "extra", None) or {}
    recommended = extra.get(RECOMMENDATIONS_KEY) or {}
    if not isinstance(recommended, Mapping):
        raise ValueError(
            f"the checkpoint's {RECOMMENDATIONS_KEY!r} must be a JSON object of drag settings, "
            f"got {type(recommended).__name__}; re-save the checkpoint without it"
        )
    return dict(recommended)


def _recommendations_for(config: DragConfig, recommended: Mapping | None) -> dict:
    """The recommended values of the fields `config` leaves empty, each checked by DragConfig's
    own validation (a checkpoint is someone else's data)."""
    chosen = {
        name: value
        for name, value in (recommended or {}).items()
        if name in RECOMMENDABLE and getattr(config, name) is None
    }
    try:
        DragConfig(**chosen)
    except ValueError as e:
        raise ValueError(f"the checkpoint's recommended drag setting is invalid: {e}") from e
    return chosen


@dataclass(frozen=True)
class ResolvedConfig:
    """A DragConfig with every default filled in for one image size (see DragConfig)."""

    image_size: int
    method: str
    feature_block: int
    r1: float
    r2: int
    stop_px: float
    max_jump_px: float
    steps: int
    lr: float
    lambda_mask: float
    layers: int
    space: str
    noise_mode: str
    tracking: str
    tracking_norm: str


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check(ok: bool, field: str, value, expected: str) -> None:
    if not ok:
        raise ValueError(f"DragConfig.{field} must be {expected}, got {value!r}")
