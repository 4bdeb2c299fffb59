"""A trajectory as a file: safetensors with our metadata, written by Export and read back by TrajectoryLoad.

Read as untrusted input (docs/PROJECTS.md, "Limits"): size bounded before reading, header, dtypes, shapes and numbers checked."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from nodegraph.budgets import MAX_TRAJECTORY_BYTES, MAX_TRAJECTORY_HEADER_BYTES
from nodegraph.readers import InputRefused, parse_json, read_regular

from .trajectory import Trajectory

SUFFIX = ".trajectory.safetensors"
METADATA = {"format": "nodegraph trajectory", "version": "1"}
# The one dtype each tensor of the file must have (safetensors' names).
DTYPES = {
    "steps": "I64", "stages": "I64", "ws_start": "F32", "dws": "F32",
    "handles": "F32", "targets": "F32", "distances": "F32", "masks": "BOOL", "counts": "I64",
}  # fmt: skip
_TORCH_DTYPES = {"F32": torch.float32, "I64": torch.int64, "BOOL": torch.bool}
MAX_COORDINATE = 1e6  # |x|, |y| of a handle or target and a distance, in pixels
FIX = "export the trajectory again with an Export node"


class TrajectoryFileError(ValueError):
    """A trajectory file that is not one we can read: the message names the file and the fix."""


def trajectory_path(path: Path) -> Path:
    """Where Export writes a trajectory given its `path`: the path itself when it ends in
    .trajectory.safetensors, else beside it as <stem>.trajectory.safetensors."""
    if path.name.endswith(SUFFIX):
        return path
    return path.with_name(
        path.name[: -len(path.suffix)] + SUFFIX if path.suffix else path.name + SUFFIX
    )


def encode_trajectory(trajectory: Trajectory, marker: str | None = None) -> bytes:
    """The file's bytes; ValueError when they would pass MAX_TRAJECTORY_BYTES (a reader refuses them)."""
    from safetensors.torch import save

    metadata = dict(METADATA, **({"Software": marker} if marker else {}))
    tensors = {name: t.to(_TORCH_DTYPES[DTYPES[name]]) for name, t in trajectory.tensors().items()}
    data = save(tensors, metadata=metadata)
    if len(data) > MAX_TRAJECTORY_BYTES:
        raise ValueError(
            f"the trajectory is {len(data):,} bytes; the limit is {MAX_TRAJECTORY_BYTES:,} "
            "(256 frames of an 18 x 512 W+): record it with a larger trajectory_every"
        )
    return data


def decode_trajectory(path: str | os.PathLike) -> Trajectory:
    """The trajectory in the file at `path` (written by encode_trajectory); TrajectoryFileError,
    one line naming the file and the fix, for anything else."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    where = f"trajectory file {os.fspath(path)}"
    try:
        data = read_regular(path, MAX_TRAJECTORY_BYTES, "trajectory file")
    except FileNotFoundError:
        raise TrajectoryFileError(
            f"{where} does not exist: check the TrajectoryLoad path"
        ) from None
    except InputRefused as e:
        raise TrajectoryFileError(f"{e}: {FIX}") from None
    except OSError as e:
        raise TrajectoryFileError(f"cannot read {where}: {e.strerror or e}") from None
    _check_header(data, where)
    try:
        tensors = load(data)
    except (SafetensorError, ValueError, RuntimeError) as e:
        raise TrajectoryFileError(f"{where} is damaged ({e}): {FIX}") from None
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise TrajectoryFileError(
                f"{where}: tensor {name!r} holds NaN or infinite numbers: {FIX}"
            )
    _check_values(tensors, where)
    try:
        return Trajectory.from_tensors(tensors, where)
    except ValueError as e:
        raise TrajectoryFileError(f"{e}: {FIX}") from None


def _check_header(data: bytes, where: str) -> None:
    """The safetensors header: bounded, our metadata, only our tensor names with their dtypes."""
    if len(data) < 8:
        raise TrajectoryFileError(f"{where} is not a safetensors file ({len(data)} bytes): {FIX}")
    size = int.from_bytes(data[:8], "little")
    if size > MAX_TRAJECTORY_HEADER_BYTES or size > len(data) - 8:
        raise TrajectoryFileError(
            f"{where} declares a header of {size:,} bytes; the limit is "
            f"{min(MAX_TRAJECTORY_HEADER_BYTES, len(data) - 8):,}: {FIX}"
        )
    try:
        header = parse_json(data[8 : 8 + size], f"{where} header", max_bytes=size, max_depth=4)
    except (ValueError, UnicodeDecodeError) as e:
        raise TrajectoryFileError(f"{where} has a damaged header ({e}): {FIX}") from None
    if not isinstance(header, dict):
        raise TrajectoryFileError(f"{where} has a damaged header (not an object): {FIX}")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or any(metadata.get(k) != v for k, v in METADATA.items()):
        raise TrajectoryFileError(
            f"{where} is not a nodegraph trajectory (its metadata says {_brief(metadata)}): {FIX}"
        )
    unknown = sorted(set(header) - set(DTYPES))
    if unknown:
        raise TrajectoryFileError(
            f"{where} holds tensors {_brief(unknown)} a trajectory has not: {FIX}"
        )
    for name, entry in header.items():
        dtype = entry.get("dtype") if isinstance(entry, dict) else None
        if dtype != DTYPES[name]:
            raise TrajectoryFileError(
                f"{where}: tensor {name!r} has dtype {_brief(dtype)}, expected {DTYPES[name]}: {FIX}"
            )


def _check_values(tensors: dict[str, torch.Tensor], where: str) -> None:
    """Steps and stages count up from 0 (a stage by at most one a frame); points within bounds."""
    steps, stages = tensors.get("steps"), tensors.get("stages")
    for name, t in (("steps", steps), ("stages", stages)):
        if t is not None and t.dim() == 1 and t.numel():
            if int(t[0]) < 0 or bool((t[1:] < t[:-1]).any()):
                raise TrajectoryFileError(f"{where}: {name} must count up from 0: {FIX}")
    if stages is not None and stages.dim() == 1 and stages.numel():
        if int(stages[0]) != 0 or bool((stages[1:] - stages[:-1] > 1).any()):
            raise TrajectoryFileError(f"{where}: stages must start at 0 and go up by one: {FIX}")
    for name in ("handles", "targets", "distances"):
        t = tensors.get(name)
        if t is not None and t.numel() and float(t.abs().max()) > MAX_COORDINATE:
            raise TrajectoryFileError(
                f"{where}: {name} must be within ±{MAX_COORDINATE:g} px: {FIX}"
            )


def _brief(value) -> str:
    from nodegraph.budgets import brief

    return brief(value)


def save_trajectory(trajectory: Trajectory, path: str | Path) -> None:
    """Writes the file at `path` atomically (a path the user chose; a run writes through Export)."""
    from nodegraph.atomic import atomic_write

    atomic_write(Path(path), encode_trajectory(trajectory))
