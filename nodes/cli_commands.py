"""The domain's CLI commands (`nodegraph info|convert|models|bench`), handed to `nodegraph` through the
entry-point group "nodegraph.cli_commands": `cli_commands()` -> {name: CliCommand}. Targets are
imported only when run. (Not the undo commands: those are nodegraph/commands.py.)

To add a command or a benchmark, add one line to COMMANDS or BENCHES ("module:function", where
the function takes argv (list of str) and returns an exit code).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import NamedTuple

# name -> (one-line help, "module:function")
COMMANDS: dict[str, tuple[str, str]] = {
    "bench": (
        "run a benchmark: nodegraph bench <name> [options] (drag, ...)",
        "nodes.cli_commands:bench",
    ),
    "info": ("print a checkpoint's config, resolution, num_ws and parameter count", "nodes.gan.cli:info_command"),
    "convert": ("convert an NVIDIA .pkl (or rosinality .pt) to our .safetensors, running nothing from it", "nodes.gan.cli:convert_command"),
    "models": ("the published models: nodegraph models list|get NAME|path NAME", "nodes.models.cli:models_command"),
}

# `nodegraph bench <name>` -> (one-line help, "module:function")
BENCHES: dict[str, tuple[str, str]] = {
    "drag": (
        "drag step time and peak memory, engine vs the official formulation",
        "nodes.drag.bench:run_bench",
    ),
    "toyfaces": ("PSNR and landmark error of the bundled generator against its renderer", "nodes.toyfaces.bench:bench_toyfaces"),
    "landmarks": ("DragGAN's Table 1 protocol on toyfaces: 1, 5 and all landmarks", "nodes.toyfaces.bench:bench_landmarks"),
    "invert": ("PSNR and seconds of W, W+ and W+ with PTI inversion of held-out toyfaces", "nodes.invert.bench:run_bench"),
    "landmarks-oracle": ("PSNR of images whose landmarks sit on the targets (the landmark-equivalent target; W+ optimised on the true distance)", "nodes.toyfaces.oracle_bench:run_bench"),
    "animation": ("seconds of filming a 300-step drag (GIF, WebP) against the drag itself", "nodes.animation_bench:run_bench"),
}


class CliCommand(NamedTuple):
    """A CLI command: unpacks as (help, run) and is itself callable as run(argv) -> exit code."""

    help: str
    run: Callable[[list[str]], int]

    def __call__(self, argv: list[str]) -> int:
        return self.run(argv)


def load(target: str) -> Callable[[list[str]], int]:
    """The function named by "module:function", imported now."""
    module_name, _, function_name = target.partition(":")
    return getattr(importlib.import_module(module_name), function_name)


def _lazy(target: str) -> Callable[[list[str]], int]:
    def run(argv: list[str]) -> int:
        return load(target)(argv)

    return run


def cli_commands() -> dict[str, CliCommand]:
    """Every command of this package, for the `nodegraph` CLI."""
    return {
        name: CliCommand(help_text, _lazy(target)) for name, (help_text, target) in COMMANDS.items()
    }


def bench(argv: list[str]) -> int:
    """`nodegraph bench <name> [options]`: dispatch to the benchmark registered under name."""
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in BENCHES:
        if argv and argv[0] not in ("-h", "--help"):
            print(f"unknown benchmark {argv[0]!r}")
        print("usage: nodegraph bench <name> [options]\nbenchmarks:")
        for name, (help_text, _target) in sorted(BENCHES.items()):
            print(f"  {name:12} {help_text}")
        return 0 if argv[:1] in (["-h"], ["--help"]) else 2
    return load(BENCHES[argv[0]][1])(argv[1:])
