"""The `nodegraph info` and `nodegraph convert` commands for generator checkpoints.

Each takes its argv (without the command name) and returns the exit status: 0 ok, 2 bad file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .checkpoint import CheckpointError, load_generator
from .families import AnyGenerator, family_name


def describe_generator(G: AnyGenerator, path: str | Path) -> str:
    """A short, aligned report: family (StyleGAN2, StyleGAN3-T/R), where from, resolution,
    num_ws, parameter count, full config."""
    cfg = G.config
    n_params = sum(p.numel() for p in G.parameters())
    lines = [
        f"checkpoint   {path}",
        f"generator    {family_name(cfg)}",
        f"source       {cfg.source or '-'}",
        f"resolution   {cfg.img_resolution}x{cfg.img_resolution}, {cfg.img_channels} channels",
        f"num_ws       {G.num_ws} (w_dim {cfg.w_dim})",
        f"parameters   {n_params:,}",
        "config",
    ]
    for key, value in cfg.to_dict().items():
        if key != "source" and (key != "extra" or value):
            lines.append(f"  {key:<22} {value}")
    return "\n".join(lines)


def _load_any(path: Path) -> AnyGenerator:
    if path.suffix.lower() == ".safetensors":
        return load_generator(path)
    from .convert import load_foreign_generator  # NVIDIA .pkl or rosinality .pt, read in memory

    return load_foreign_generator(path)


def _refused(prog: str, error: Exception, path: Path) -> int:
    """Prints one line for a checkpoint that cannot be used; exit status 2."""
    from nodegraph.cli import print_error

    if not isinstance(error, CheckpointError | OSError):  # a check we lack: say so, still one line
        error = CheckpointError(f"{path}: unusable checkpoint ({type(error).__name__}: {error})")
    print_error(error, prog)
    return 2


def info_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="nodegraph info",
        description="Print a generator checkpoint's config, resolution, num_ws and parameter count.",
    )
    parser.add_argument(
        "checkpoint", type=Path, help=".safetensors (ours), .pkl (NVIDIA) or .pt (rosinality)"
    )
    args = parser.parse_args(argv)
    try:
        G = _load_any(args.checkpoint)
    except Exception as e:  # a hostile file must still give one line, never a traceback
        return _refused("nodegraph info", e, args.checkpoint)
    print(describe_generator(G, args.checkpoint))
    return 0


def convert_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="nodegraph convert",
        description="Convert an NVIDIA network pickle (G_ema) or a rosinality .pt to our .safetensors; "
        "the pickle is read without importing or running anything from it.",
    )
    parser.add_argument(
        "input", type=Path, help="NVIDIA network pickle (.pkl) or rosinality checkpoint (.pt)"
    )
    parser.add_argument("output", type=Path, help="checkpoint to write (.safetensors)")
    args = parser.parse_args(argv)
    from .convert import convert

    if args.output.suffix.lower() != ".safetensors":
        print(
            f"nodegraph convert: error: {args.output}: the output must end in .safetensors",
            file=sys.stderr,
        )
        return 2
    try:
        out = convert(args.input, args.output)
        G = load_generator(out)
    except Exception as e:  # a hostile file must still give one line, never a traceback
        return _refused("nodegraph convert", e, args.input)
    print(f"wrote {out}\n{describe_generator(G, out)}")
    return 0
