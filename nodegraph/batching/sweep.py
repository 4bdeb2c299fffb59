"""Sweeps of a batch run and the jobs they make: `NODE.PARAM=SPEC` where SPEC is a range
(`0:1000`, `0:100:5`), a list (`0.5,0.7,1.0`) or `@file` (one value per line); several sweeps
form a grid, or are zipped. Each job gets a stable id from its values: its output folder."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nodegraph.errors import BatchError, GraphError
from nodegraph.overrides import parse_assignment, parse_value

RANGE = re.compile(r"^(-?\d+):(-?\d+)(?::(-?\d+))?$")
# A value shown as itself in a job id (and folder name); anything else by a digest.
PLAIN_LABEL = re.compile(r"^[A-Za-z0-9_+\-][A-Za-z0-9._+\-]{0,39}$")


@dataclass(frozen=True)
class Sweep:
    """One swept param: the values it takes, in order."""

    node: str
    param: str
    values: tuple[Any, ...]

    @property
    def target(self) -> str:
        return f"{self.node}.{self.param}"


@dataclass(frozen=True)
class Job:
    """One run of the project: `overrides` ("node.param" -> value) over the project's params."""

    id: str
    overrides: dict[str, Any] = field(hash=False)


def parse_sweep(text: str, base_dir: Path | None = None) -> Sweep:
    """`NODE.PARAM=SPEC` -> Sweep; a relative `@file` is read from `base_dir` (default: cwd)."""
    try:
        node, param, spec = parse_assignment(text, "--sweep")
    except GraphError as exc:
        raise BatchError(f"{exc}; SPEC is a range 0:32, a list 0.5,0.7 or @file") from None
    values = _values(spec, text, base_dir or Path.cwd())
    if not values:
        raise BatchError(f"--sweep {text!r} gives no values; a range a:b needs a < b")
    return Sweep(node, param, tuple(values))


def _values(spec: str, text: str, base_dir: Path) -> list[Any]:
    if spec.startswith("@"):
        return _read_values(base_dir / spec[1:], text)
    match = RANGE.match(spec)
    if match:
        start, stop, step = (int(g) if g is not None else None for g in match.groups())
        if step == 0:
            raise BatchError(f"--sweep {text!r}: the step of a range cannot be 0")
        return list(range(start, stop, step or 1))
    return [parse_value(item.strip()) for item in spec.split(",")]


def _read_values(path: Path, text: str) -> list[Any]:
    """One value per line (JSON when it parses, else text); blank lines and `#` lines skipped."""
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BatchError(f"--sweep {text!r}: cannot read the values file {str(path)!r}: {exc}") from None
    return [parse_value(line.strip()) for line in lines if line.strip() and not line.lstrip().startswith("#")]


def make_jobs(sweeps: list[Sweep], sets: dict[str, Any] | None = None, zipped: bool = False) -> list[Job]:
    """The jobs of a batch: every combination of the sweeps' values (first sweep outermost), or
    the i-th value of each when `zipped`; `sets` (--set) apply to every job."""
    sets = dict(sets or {})
    _check_targets(sweeps, sets)
    if zipped and len({len(s.values) for s in sweeps}) > 1:
        lengths = ", ".join(f"{s.target} has {len(s.values)}" for s in sweeps)
        raise BatchError(f"--zip needs sweeps of one length: {lengths}; drop --zip for a grid")
    combos = zip(*(s.values for s in sweeps)) if zipped else itertools.product(*(s.values for s in sweeps))
    jobs, seen = [], {}
    for values in combos:
        swept = {s.target: v for s, v in zip(sweeps, values)}
        job = Job(job_id(swept), {**sets, **swept})
        if job.id in seen:
            raise BatchError(
                f"two jobs would share the id {job.id!r} ({seen[job.id]} and {swept}): "
                "remove the repeated value from the sweep"
            )
        seen[job.id] = swept
        jobs.append(job)
    return jobs


def _check_targets(sweeps: list[Sweep], sets: dict[str, Any]) -> None:
    targets = [s.target for s in sweeps]
    for target in dict.fromkeys(t for t in targets if targets.count(t) > 1):
        raise BatchError(f"--sweep {target} is given twice; put all its values in one sweep")
    for target in targets:
        if target in sets:
            raise BatchError(f"{target} is both swept (--sweep) and set (--set); keep one of them")


def job_id(swept: dict[str, Any]) -> str:
    """`{"latent.seed": 3, "drag.lr": 0.005}` -> `latent.seed=3,drag.lr=0.005` (a value that is
    not a short plain word is shown by a digest of its JSON: `h` and 10 hex digits)."""
    if not swept:
        return "job"
    return ",".join(f"{target}={value_label(value)}" for target, value in swept.items())


def value_label(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    if PLAIN_LABEL.match(text):
        return text
    digest = hashlib.sha1(json.dumps(value, sort_keys=True).encode()).hexdigest()
    return f"h{digest[:10]}"
