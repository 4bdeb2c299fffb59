"""`nodegraph bench drag`: milliseconds per drag step and peak memory, engine vs the official
formulation (nodes.drag.baseline), on random-weight generators of the official sizes, for three
scenarios: one handle, five handles (both cropped synthesis) and two handles with a mask (the
mask term reads the whole feature map).

Each variant runs in its own subprocess (`python -m nodes.drag.bench --child ...`) so that its
peak memory is its own: peak RSS on the CPU, torch.cuda.max_memory_allocated on CUDA.

Whether the two compute the same loss is checked in float64 (the same drag once more, each
variant in float64, one thread): there they agree to ~1e-14. In float32 both carry rounding that the
motion term (a difference of features 1 px apart) and the mask term (|F - F0|) magnify, up to
1e-4 (512 px, 1 handle) and 1e-2 (the official formulation with a mask) of the loss; the table
gives each float32 loss's error against the float64 one.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import torch

# Random-weight generators: the official 512 px config (SPEC §3), the 256 px and 1024 px ones, and a tiny one for tests.
CONFIGS = {
    "512": dict(
        img_resolution=512,
        channel_base=32768,
        channel_max=512,
        mapping_layers=8,
        z_dim=512,
        w_dim=512,
    ),
    "256": dict(
        img_resolution=256,
        channel_base=16384,
        channel_max=512,
        mapping_layers=8,
        z_dim=512,
        w_dim=512,
    ),
    "1024": dict(  # FFHQ's size; minutes per reference step on a CPU: for --device cuda
        img_resolution=1024,
        channel_base=32768,
        channel_max=512,
        mapping_layers=8,
        z_dim=512,
        w_dim=512,
    ),
    "tiny": dict(
        img_resolution=32, channel_base=1024, channel_max=32, mapping_layers=2, z_dim=32, w_dim=32
    ),
}
VARIANTS = ("engine", "reference")
HALF_PRECISIONS = ("float16", "bfloat16")  # --precision: the generator's upper blocks on CUDA
LOSS_TOLERANCE = 1e-8  # relative, in float64: the two formulations compute the same loss

# Handles and targets as fractions of the image size; `masked` frees the central half.
SCENARIOS = {
    "1-handle": dict(handles=[(0.40, 0.45)], targets=[(0.50, 0.40)], masked=False),
    "5-handles": dict(
        handles=[(0.30, 0.30), (0.70, 0.28), (0.50, 0.50), (0.28, 0.72), (0.72, 0.70)],
        targets=[(0.38, 0.26), (0.64, 0.36), (0.50, 0.60), (0.36, 0.78), (0.66, 0.62)],
        masked=False,
    ),
    "masked": dict(
        handles=[(0.40, 0.45), (0.62, 0.55)], targets=[(0.50, 0.40), (0.70, 0.62)], masked=True
    ),
}


def scenario(
    size: int, name: str = "masked"
) -> tuple[list[tuple[float, float]], list[tuple[float, float]], torch.Tensor | None]:
    """The handles, targets (pixels) and mask (or None) of scenario `name` at this image size."""
    spec = SCENARIOS[name]
    handles = [(round(x * size), round(y * size)) for x, y in spec["handles"]]
    targets = [(round(x * size), round(y * size)) for x, y in spec["targets"]]
    mask = None
    if spec["masked"]:
        mask = torch.zeros(size, size)
        mask[size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 1
    return handles, targets, mask


def run_variant(
    config_name: str,
    variant: str,
    steps: int,
    device: str,
    seed: int = 0,
    scenario_name: str = "masked",
    float64: bool = False,
    precision: str = "float32",
) -> dict:
    """One drag of `steps` steps with one formulation; timings, losses and memory as a dict.
    `float64`: the generator and the drag in float64 (the exactness pass); `precision`: the
    generator's (Generator.set_precision: its upper blocks in float16/bfloat16 on CUDA)."""
    from nodes.gan import Generator, GeneratorConfig

    from .baseline import OfficialFormulation
    from .compiled import compile_features
    from .config import DragConfig
    from .loop import SampledFormulation, run_drag

    WholeMapFormulation = _whole_map_formulation()

    torch.manual_seed(seed)
    libraries_bytes = 0 if device.startswith("cuda") else _memory_now(device)
    G = Generator(GeneratorConfig(**CONFIGS[config_name])).eval().requires_grad_(False).to(device)
    ws = G.random_ws(seed, truncation_psi=0.7)
    if float64:
        G = G.double()
    G.set_precision(precision)
    handles, targets, mask = scenario(G.img_resolution, scenario_name)
    formulation = {"engine": SampledFormulation, "compiled": SampledFormulation, "reference": OfficialFormulation}.get(
        variant, WholeMapFormulation
    )
    compile_features(G, variant == "compiled")
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    base_bytes = _memory_now(device)
    stamps: list[tuple[float, float]] = []
    started = time.perf_counter()

    def on_step(_state) -> None:
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        stamps.append((time.perf_counter(), time.process_time()))

    result = run_drag(
        G,
        ws,
        handles,
        targets,
        None if mask is None else mask.to(device),
        DragConfig(steps=steps),
        on_step,
        None,
        formulation,
    )
    wall = [b[0] - a[0] for a, b in zip(stamps, stamps[1:])]
    cpu = [b[1] - a[1] for a, b in zip(stamps, stamps[1:])]
    peak = _memory_peak(device)
    mask = None if mask is None else mask.to(device)
    return {
        "ops_per_step": None if float64 else ops_per_step(G, ws, handles, targets, mask, formulation),
        "config": config_name,
        "scenario": scenario_name,
        "variant": variant,
        "ms_per_step": 1000 * statistics.median(wall),
        "first_step_s": stamps[0][0] - started,  # with --compile: the compilation's time
        "cpu_ms_per_step": 1000 * statistics.median(cpu),
        "losses": [entry.loss for entry in result.history],
        "peak_bytes": peak,
        "base_bytes": base_bytes,
        "libraries_bytes": libraries_bytes,
        "threads": torch.get_num_threads(),
    }


def _whole_map_formulation():
    from .loop import SampledFormulation

    class WholeMap(SampledFormulation):
        """The engine on the whole feature map: no cropped synthesis (`--whole-map`)."""

        crops = False

    return WholeMap


def ops_per_step(G, ws, handles, targets, mask, formulation) -> int:
    """The torch ops one steady step dispatches (synthesis, tracking, loss, backward, Adam): on a
    GPU each is at least one kernel launch, so a small step's time follows this count (a step is
    launch-bound) more than its FLOPs. Counted with torch's profiler over the third step of a
    drag (ops that other ops call are not counted again)."""
    from torch.profiler import ProfilerActivity, profile

    from .config import DragConfig
    from .loop import run_drag

    profiler = profile(activities=[ProfilerActivity.CPU])

    def on_step(state) -> None:  # after step 1's update: step 2 is profiled, to its update
        if state.step == 1:
            profiler.start()
        elif state.step == 2:
            profiler.stop()

    run_drag(G, ws, handles, targets, mask, DragConfig(steps=3), on_step, None, formulation)
    return sum(1 for e in profiler.events() if e.name.startswith("aten::") and not _inside_an_op(e))


def _inside_an_op(event) -> bool:
    """Whether a profiled op was called by another op (backward's ops sit under autograd's
    own events, so a parent that is not an op does not count)."""
    parent = event.cpu_parent
    while parent is not None:
        if parent.name.startswith("aten::"):
            return True
        parent = parent.cpu_parent
    return False


def _memory_now(device: str) -> int:
    if device.startswith("cuda"):
        return torch.cuda.memory_allocated()
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _memory_peak(device: str) -> int:
    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux


def _run_child(
    config_name: str,
    scenario_name: str,
    variant: str,
    steps: int,
    device: str,
    threads: int | None,
    precision: str = "float32",
) -> dict:
    command = [
        sys.executable,
        "-m",
        "nodes.drag.bench",
        "--child",
        config_name,
        scenario_name,
        variant,
        str(steps),
        device,
        precision,
        str(threads or 0),
    ]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    )
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(
            f"bench child {config_name}/{scenario_name}/{variant} failed:\n{done.stderr[-2000:]}"
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def max_relative_difference(losses: list[float], truth: list[float]) -> float:
    return max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(losses, truth))


def compare(engine: dict, reference: dict, exact: dict, device: str = "cpu") -> dict:
    """Ratios engine / reference; from the float64 runs `exact` ({variant: run}) the largest
    relative difference of their per-step losses (loss_max_rel_diff), and of each float32
    run's losses against the float64 reference's (float32_error)."""
    timer = "ms_per_step" if device.startswith("cuda") else "cpu_ms_per_step"
    engine_loop = engine["peak_bytes"] - engine["base_bytes"]
    reference_loop = reference["peak_bytes"] - reference["base_bytes"]
    truth = exact["reference"]["losses"]
    diff = max_relative_difference(exact["engine"]["losses"], truth)
    return {
        "step_ratio": engine[timer] / reference[timer],
        "wall_step_ratio": engine["ms_per_step"] / reference["ms_per_step"],
        "peak_memory_ratio": engine["peak_bytes"] / reference["peak_bytes"],
        "loop_memory_ratio": engine_loop / max(reference_loop, 1),
        "tensor_memory_ratio": (engine["peak_bytes"] - engine["libraries_bytes"])
        / max(reference["peak_bytes"] - reference["libraries_bytes"], 1),
        "loss_max_rel_diff": diff,
        "same_loss": diff <= LOSS_TOLERANCE,
        "float32_error": {
            "engine": max_relative_difference(engine["losses"], truth),
            "reference": max_relative_difference(reference["losses"], truth),
        },
    }


def run_bench(argv: list[str]) -> int:
    """Entry point of `nodegraph bench drag [--json] [--steps N] [--configs 512,256]
    [--scenarios 1-handle,5-handles,masked] [--device D] [--threads T]`."""
    parser = argparse.ArgumentParser(
        prog="nodegraph bench drag", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="drag steps per variant (default 3 on CPU, 20 on CUDA)",
    )
    parser.add_argument(
        "--configs", default="512,256", help=f"comma-separated, of {', '.join(CONFIGS)}"
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated, of {', '.join(SCENARIOS)}",
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--threads", type=int, default=None, help="CPU threads per variant (default: torch's)"
    )
    parser.add_argument(
        "--precision",
        default="",
        help="CUDA: also run the engine with the generator's upper blocks in these precisions "
        "(comma-separated, of float16, bfloat16), each timed and its losses compared with float64",
    )
    parser.add_argument(
        "--whole-map",
        action="store_true",
        help="also run the engine without cropped synthesis (F on the whole map), timed and counted: "
        "where launches cost more than multiply-adds (a GPU) cropping may not pay",
    )
    parser.add_argument(
        "--compile",
        action="store_true",
        help="also run the engine with F through torch.compile (CUDA graphs on CUDA; the whole map): "
        "its time a step, its first step's (the compilation) and its losses against float64",
    )
    args = parser.parse_args(argv)
    precisions = [name.strip() for name in args.precision.split(",") if name.strip()]
    unknown = [name for name in precisions if name not in HALF_PRECISIONS]
    if unknown:
        parser.error(f"unknown precision(s) {unknown}; choose from {', '.join(HALF_PRECISIONS)}")
    if precisions and not args.device.startswith("cuda"):
        parser.error("--precision needs --device cuda: on the CPU the generator runs in float32")
    configs = [name.strip() for name in args.configs.split(",") if name.strip()]
    unknown = [name for name in configs if name not in CONFIGS]
    if unknown or not configs:
        parser.error(f"unknown config(s) {unknown}; choose from {', '.join(CONFIGS)}")
    scenarios = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    unknown = [name for name in scenarios if name not in SCENARIOS]
    if unknown or not scenarios:
        parser.error(f"unknown scenario(s) {unknown}; choose from {', '.join(SCENARIOS)}")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda asked for, but torch sees no CUDA device")
    steps = args.steps if args.steps is not None else (20 if args.device.startswith("cuda") else 3)
    if steps < 2:
        parser.error("--steps must be >= 2 (the first step is a warm-up and is not timed)")
    report = {"device": args.device, "steps": steps, "configs": {}}
    for name in configs:
        report["configs"][name] = {}
        for scenario_name in scenarios:
            runs, exact = {}, {}
            for variant in VARIANTS:
                drag = (name, scenario_name, variant, steps, args.device)
                runs[variant] = _run_child(*drag, threads=args.threads)
                # One thread: with two, the official formulation's first step gave a loss 1.2e-4
                # off (512 px, 1 handle) in about half the processes, in float64 too.
                exact[variant] = _run_child(*drag, threads=1, precision="float64")
            entry = {**runs, **compare(runs["engine"], runs["reference"], exact, args.device)}
            entry["precisions"] = {}
            for precision in precisions:
                half = _run_child(name, scenario_name, "engine", steps, args.device, args.threads, precision)
                entry["precisions"][precision] = {
                    "ms_per_step": half["ms_per_step"],
                    "ratio_to_float32": half["ms_per_step"] / runs["engine"]["ms_per_step"],
                    "loss_error": max_relative_difference(half["losses"], exact["reference"]["losses"]),
                    "peak_bytes": half["peak_bytes"],
                }
            if args.whole_map:
                whole = _run_child(name, scenario_name, "whole", steps, args.device, args.threads)
                entry["whole_map"] = {
                    "ms_per_step": whole["ms_per_step"],
                    "cpu_ms_per_step": whole["cpu_ms_per_step"],
                    "ratio_to_cropped": whole["ms_per_step"] / runs["engine"]["ms_per_step"],
                    "ops_per_step": whole["ops_per_step"],
                    "loss_error": max_relative_difference(whole["losses"], exact["reference"]["losses"]),
                }
            if args.compile:
                built = _run_child(name, scenario_name, "compiled", steps, args.device, args.threads)
                entry["compiled"] = {
                    "ms_per_step": built["ms_per_step"],
                    "cpu_ms_per_step": built["cpu_ms_per_step"],
                    "first_step_s": built["first_step_s"],
                    "ratio_to_eager": built["ms_per_step"] / runs["engine"]["ms_per_step"],
                    "ratio_to_reference": built["ms_per_step"] / runs["reference"]["ms_per_step"],
                    "ops_per_step": built["ops_per_step"],
                    "loss_error": max_relative_difference(built["losses"], exact["reference"]["losses"]),
                    "loss_rel_diff_to_eager": max_relative_difference(built["losses"], runs["engine"]["losses"]),
                }
            report["configs"][name][scenario_name] = entry
    if args.json:
        print(json.dumps(report))
    else:
        print(_table(report))
    entries = [entry for config in report["configs"].values() for entry in config.values()]
    return 0 if all(entry["same_loss"] for entry in entries) else 1


def _table(report: dict) -> str:
    first = next(iter(next(iter(report["configs"].values())).values()))
    cuda = report["device"].startswith("cuda")
    memory = "torch.cuda.max_memory_allocated" if cuda else "peak RSS"
    lines = [
        f"drag step, engine vs official formulation; device {report['device']}, "
        f"{first['engine']['threads']} thread(s), {report['steps']} steps (median after the first)",
        f"time: wall ms per step{'' if cuda else ' (process CPU ms in brackets)'}; memory: {memory}",
        f"{'config':>6} {'scenario':>9} {'engine ms':>14} {'reference ms':>14} {'wall ratio':>10} "
        f"{'cpu ratio':>9} {'engine MB':>9} {'ref MB':>8} {'peak ratio':>10} {'tensor ratio':>12} "
        f"{'loop ratio':>10} {'loss diff':>9} {'f32 err eng':>11} {'f32 err ref':>11} {'ops eng':>7} {'ops ref':>7}",
    ]
    for name, scenarios in report["configs"].items():
        for scenario_name, entry in scenarios.items():
            times = []
            for run in (entry["engine"], entry["reference"]):
                cpu_time = "" if cuda else f" [{run['cpu_ms_per_step']:.0f}]"
                times.append(f"{run['ms_per_step']:.0f}{cpu_time}")
            lines.append(
                f"{name:>6} {scenario_name:>9} {times[0]:>14} {times[1]:>14} "
                f"{entry['wall_step_ratio']:10.3f} {entry['step_ratio']:9.3f} "
                f"{entry['engine']['peak_bytes'] / 2**20:9.1f} "
                f"{entry['reference']['peak_bytes'] / 2**20:8.1f} "
                f"{entry['peak_memory_ratio']:10.3f} {entry['tensor_memory_ratio']:12.3f} "
                f"{entry['loop_memory_ratio']:10.3f} {entry['loss_max_rel_diff']:9.2e} {entry['float32_error']['engine']:11.2e} "
                f"{entry['float32_error']['reference']:11.2e} "
                f"{entry['engine']['ops_per_step']:7d} {entry['reference']['ops_per_step']:7d}"
            )
            if "whole_map" in entry:
                whole = entry["whole_map"]
                lines.append(
                    f"{'':>6} {'':>9} engine on the whole map: {whole['ms_per_step']:.1f} ms a step "
                    f"({whole['ratio_to_cropped']:.3f}x cropped), {whole['ops_per_step']} ops, "
                    f"loss error {whole['loss_error']:.2e}"
                )
            if "compiled" in entry:
                built = entry["compiled"]
                lines.append(
                    f"{'':>6} {'':>9} engine compiled: {built['ms_per_step']:.1f} ms a step "
                    f"({built['ratio_to_eager']:.3f}x eager, {built['ratio_to_reference']:.3f}x official; "
                    f"first step {built['first_step_s']:.1f} s), {built['ops_per_step']} eager ops, "
                    f"loss vs eager {built['loss_rel_diff_to_eager']:.2e}, vs float64 {built['loss_error']:.2e}"
                )
            for precision, half in entry.get("precisions", {}).items():
                lines.append(
                    f"{'':>6} {'':>9} engine in {precision}: {half['ms_per_step']:.1f} ms a step "
                    f"({half['ratio_to_float32']:.3f}x float32's), loss error {half['loss_error']:.2e}, "
                    f"{half['peak_bytes'] / 2**20:.1f} MB"
                )
    lines += [
        "ratios: engine / reference; peak: the whole process; tensor ratio: peak - the process "
        "with torch imported (weights and activations; on CUDA the same as peak);",
        "loop ratio: peak - memory before the loop (the drag's own);",
        "loss diff: max relative difference of the per-step losses, both in float64 (the same "
        "drag again);",
        "f32 err: each float32 run's losses against the float64 reference's (rounding only);",
        "ops: torch ops one step dispatches (on a GPU, kernel launches at least: what bounds a small step)",
    ]
    return "\n".join(lines)


def _child(argv: list[str]) -> int:
    config_name, scenario_name, variant, steps, device, precision, threads = argv[:7]
    if int(threads):
        torch.set_num_threads(int(threads))
    result = run_variant(
        config_name,
        variant,
        int(steps),
        device,
        scenario_name=scenario_name,
        float64=precision == "float64",
        precision=precision if precision in HALF_PRECISIONS else "float32",
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        sys.exit(_child(sys.argv[2:]))
    sys.exit(run_bench(sys.argv[1:]))
