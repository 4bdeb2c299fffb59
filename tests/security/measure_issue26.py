"""Runs each row of issue 26 as an attacker would, each in a fresh `python -m nodegraph`
process, and prints its exit code, wall and CPU seconds, peak memory and last message line.

    python -m tests.security.measure_issue26 [--only ROW ...]

Peak memory is the child's maximum resident set (wait4). "outside" says whether anything
outside the output folder was created or changed (a snapshot before and after)."""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from tests.security.conftest import snapshot
from tests.security.hostile import (
    World,
    checkpoint_file,
    lying_size_pt,
    reconstruct_pickle,
    render_graph,
    run,
    save_project,
    zeros_in_pickle,
    zeros_rosinality_pt,
)

REPO = str(Path(__file__).resolve().parents[2])


def doc(nodes: list, links: list | None = None) -> dict:
    return {"format": "nodegraph.project", "version": 1, "nodes": nodes, "links": links or []}


def write_doc(world: World, nodes: list, links: list | None = None, text=None) -> str:
    path = world.project / "p.ngproj.json"
    path.write_text(text if text is not None else json.dumps(doc(nodes, links)))
    return str(path)


def child(
    args: list[str], world: World, during=None, **popen
) -> tuple[int, float, float, float, str]:
    """(exit, wall s, CPU s, peak MB, last stderr line or first stdout line) of nodegraph ARGS;
    `during(process)` runs while it does (a thread that races it, a signal)."""
    env = dict(os.environ, PYTHONPATH=REPO, HOME=str(world.home), OMP_NUM_THREADS="1")
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "nodegraph", *args], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen,
    )  # fmt: skip
    out: list[bytes] = []
    readers = [
        threading.Thread(target=lambda s=s: out.append(s.read()))
        for s in (process.stdout, process.stderr)
    ]
    for reader in readers:
        reader.start()
    ended = threading.Event()
    waited: list = []

    def wait() -> None:
        waited.append(os.wait4(process.pid, 0))
        waited.append(time.perf_counter() - start)
        ended.set()

    waiter = threading.Thread(target=wait)
    waiter.start()
    sampled = [0.0]
    sampler = threading.Thread(target=_sample_rss, args=(process.pid, ended, sampled))
    sampler.start()
    if during is not None:
        during(process, ended)
    waiter.join()
    sampler.join()
    (_, status, usage), seconds = waited
    for reader in readers:
        reader.join()
    text = b"\n".join(out).decode("utf-8", "replace")
    lines = [line for line in text.strip().splitlines() if line.strip() and "it/s" not in line]
    said = [line for line in lines if "error" in line or "failed" in line or "nodegraph:" in line]
    message = (said or lines or [""])[-1]
    return (os.waitstatus_to_exitcode(status), seconds, usage.ru_utime + usage.ru_stime,
            sampled[0], message)  # fmt: skip


def _sample_rss(pid: int, ended: threading.Event, peak: list[float]) -> None:
    """The child's peak RSS in MB, sampled every 10 ms (wait4's ru_maxrss would count the
    parent's pages the child shared before exec)."""
    import psutil

    try:
        process = psutil.Process(pid)
        while not ended.is_set():
            peak[0] = max(peak[0], process.memory_info().rss / 2**20)
            time.sleep(0.01)
    except psutil.Error:
        pass


# --- the rows --------------------------------------------------------------------------------
def row1_swap_sub(world: World):
    def build(g):
        render_graph(world, "sub/x0.png")(g)
        for i in range(1, 20):
            g.add("Export", id=f"export{i}", path=f"sub/x{i}.png")
            g.connect("render", "image", f"export{i}", "image")

    project = save_project(world, build)
    (world.out / "sub").mkdir()
    return ["run", project, "--output-dir", str(world.out), "--device", "cpu", "--quiet"], _swapper(
        world, world.out / "sub"
    )


def row1_swap_output_dir(world: World):
    argv, _ = row1_swap_sub(world)
    return argv, _swapper(world, world.out)


def _swapper(world: World, folder: Path):
    def during(process, ended):
        moved = folder.with_name(folder.name + ".real")
        while not ended.is_set():
            try:
                os.rename(folder, moved)
                os.symlink(world.outside, folder)
                time.sleep(0.002)
                os.unlink(folder)
                os.rename(moved, folder)
            except OSError:
                pass
            time.sleep(0.02)

    return during


def _batch(world: World, project: str, out: Path) -> list[str]:
    return ["batch", project, "--sweep", "latent.seed=0", "--workers", "1", "--output-dir", str(out),
            "--quiet", "--device", "cpu"]  # fmt: skip


def row2(name: str, target: str):
    def build(world: World):
        project = save_project(world, render_graph(world, "x.png"))
        (world.outside / "outside.txt").write_text("theirs\n")
        (world.outside / "elsewhere").mkdir()
        (world.out / name).symlink_to(world.outside / target)
        return _batch(world, project, world.out), None

    return build


def row3(name, content, command):
    def build(world: World):
        return checkpoint_file(name, content, command)(world), None

    return build


def row4_png(world: World):
    body = "[" + ",".join(["{}"] * (64 * 1024**2 // 3 - 1)) + "]"
    info = PngInfo()
    info.add_text("nodegraph.project", body, zip=True)
    path = world.project / "bomb.png"
    Image.new("RGB", (4, 4)).save(path, pnginfo=info)
    return ["run", str(path)], None


def row4_json(world: World):
    body = "[" + ",".join(["{}"] * (64 * 1024**2 // 3 - 100)) + "]"  # just under 64 MiB
    path = world.project / "p.ngproj.json"
    path.write_text('{"format": "nodegraph.project", "version": 1, "meta": {"x": ' + body + "}}")
    return ["run", str(path)], None


def row5(world: World):
    def build(g):
        render_graph(world, "e0.png")(g)
        for i in range(1, 50):
            g.add("Export", id=f"export{i}", path=f"e{i}.png")
            g.connect("render", "image", f"export{i}", "image")
        g.meta["notes"] = "x" * (2 * 1024**2)

    return run(save_project(world, build)), None


def row6_path(bad: str):
    def build(world: World):
        return run(save_project(world, render_graph(world, bad))), None

    return build


def row6_batch_under_file(world: World):
    project = save_project(world, render_graph(world, "x.png"))
    (world.root / "file").write_text("a file\n")
    return _batch(world, project, world.root / "file" / "out"), None


def _file_size_limit() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (600, 600))


def row6_full_disk_batch(world: World):
    """A full 64 KiB tmpfs as the batch folder (needs root; RLIMIT_FSIZE would also stop
    multiprocessing's shared memory, not only the batch's writes)."""
    project = save_project(world, render_graph(world, "x.png"))
    disk = world.out / "small"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], check=True)
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, bytes(1024)):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    cleanup = {"cleanup": lambda: subprocess.run(["umount", str(disk)], check=True)}
    return _batch(world, project, disk), None, {}, cleanup


def row6_full_disk_run(world: World):
    project = save_project(world, render_graph(world, "x.png"))
    return run(project), None, {"preexec_fn": _file_size_limit}


def row6_ctrl_c_load(world: World):
    meta = {"x": [[0.5, 1.5, 2.5]] * 900_000}
    path = world.project / "big.ngproj.json"
    path.write_text(json.dumps({**doc([]), "meta": meta}))

    def during(process, ended):
        time.sleep(1.5)
        os.kill(process.pid, signal.SIGINT)

    return ["run", str(path), "--quiet"], during


def row7_sigkill_driver(world: World):
    """Kills the batch driver by SIGKILL mid-run; the message is how long its workers outlived it."""
    import psutil

    from tests.batch.conftest import save_drag_project

    project = save_drag_project(world.project, steps=100_000)
    result = {}

    def during(process, ended):
        driver = psutil.Process(process.pid)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not driver.children(recursive=True):
            time.sleep(0.1)
        time.sleep(2.0)
        workers = driver.children(recursive=True)
        os.kill(process.pid, signal.SIGKILL)
        killed = time.monotonic()
        while any(_alive(w) for w in workers) and time.monotonic() - killed < 30:
            time.sleep(0.05)
        result["line"] = (
            f"{len(workers)} workers; the last ended {time.monotonic() - killed:.2f} s after the kill"
        )

    argv = ["batch", str(project), "--sweep", "latent.seed=0,1", "--workers", "2",
            "--output-dir", str(world.out), "--quiet", "--device", "cpu"]  # fmt: skip
    return argv, during, {}, result


def _alive(process) -> bool:
    import psutil

    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def row8(params: dict, replace: str | None = None):
    def build(world: World):
        text = json.dumps(doc([{"id": "p", "type": "PointSet", "params": params}]))
        return [
            "run",
            write_doc(world, [], text=text.replace("Infinity", replace or "Infinity")),
        ], None

    return build


def row9(world: World):
    stroke = {"points": [[i * 400.0, 2048.0] for i in range(10)], "radius": 16384, "mode": "add"}
    mask = {"id": "m", "type": "Mask", "params": {"size": 4096, "strokes": [stroke] * 10_000}}
    return ["run", write_doc(world, [mask])], None


def row10(world: World):
    path = world.project / "sparse.png"
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.truncate(50 * 1024**3)
    return ["run", str(path)], None


def row11(world: World):
    project = save_project(world, render_graph(world, "x.png"))
    argv = _batch(world, project, world.out)
    argv[3] = "latent.seed=0,1"
    return argv, None


def row12(field: str):
    def build(world: World):
        huge = "x" * (20 * 1024**2)
        node: dict = {"id": "p", "type": "PointSet"}
        links = None
        if field == "type":
            node["type"] = huge
        elif field == "param":
            node["params"] = {huge: 1}
        elif field == "link":
            links = [{"from": [huge, "points"], "to": ["p", "x"]}]
        else:
            project = Path(save_project(world, render_graph(world, "x.png")))
            saved = json.loads(project.read_text())
            next(n for n in saved["nodes"] if n["id"] == "export")["params"]["format"] = huge
            project.write_text(json.dumps(saved))
            return run(str(project)), None
        return ["run", write_doc(world, [node], links)], None

    return build


def row13(kind: str):
    def build(world: World):
        path = world.project / "evil.png"
        if kind == "eps":
            path.write_text("%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n")
        else:
            Image.new("F", (4, 4), 1.5).save(path, format="TIFF")
        node = {"id": "load", "type": "ImageLoad", "params": {"path": "evil.png"}}
        return ["run", write_doc(world, [node]), "--device", "cpu", "--quiet"], None

    return build


def row6_nodes_head(world: World):
    return ["-c", f"{sys.executable} -m nodegraph nodes | head -1 >/dev/null"], "shell"


ROWS: list[tuple[str, Callable]] = [
    ("1 swap out/sub for a link, 20 exports", row1_swap_sub),
    ("1 swap --output-dir for a link", row1_swap_output_dir),
    ("2 batch.jsonl -> ../outside.txt", row2("batch.jsonl", "outside.txt")),
    ("2 .batch.lock -> ../x", row2(".batch.lock", "x")),
    ("2 job folder latent.seed=0 -> elsewhere", row2("latent.seed=0", "elsewhere")),
    ("3 convert 271 B _reconstruct pickle", row3("recon.pkl", reconstruct_pickle, "convert")),
    ("3 info 271 B _reconstruct pickle", row3("recon.pkl", reconstruct_pickle, "info")),
    ("3 convert 973 KB deflated zeros .pt", row3("zeros.pt", zeros_rosinality_pt, "convert")),
    ("3 info 973 KB deflated zeros .pt", row3("zeros.pt", zeros_rosinality_pt, "info")),
    ("3 convert deflated zeros in a .pkl", row3("zeros.pkl", zeros_in_pickle, "convert")),
    ("3 info .pt whose zip lies about size", row3("lying.pt", lying_size_pt, "info")),
    ("4 PNG zTXt of 64 MiB [{},{}...]", row4_png),
    ("4 the same as a JSON file", row4_json),
    ("5 50 exports of a 2 MB project", row5),
    ("6 export path with NUL", row6_path("out/a\0b.png")),
    ("6 export path with a lone surrogate", row6_path("out/\ud800.png")),
    ("6 batch under a regular file", row6_batch_under_file),
    ("6 run on a full disk (RLIMIT_FSIZE)", row6_full_disk_run),
    ("6 batch into a full 64 KiB tmpfs", row6_full_disk_batch),
    ("6 Ctrl+C while a 15 MB project loads", row6_ctrl_c_load),
    ("6 nodegraph nodes piped into head -1 (pipefail)", row6_nodes_head),
    ("7 SIGKILL of the local batch driver", row7_sigkill_driver),
    (
        "8 1e400 in a PointSet",
        row8({"points": [{"handle": [1, 1], "target": [2, float("inf")]}]}, "1e400"),
    ),
    (
        "8 unknown key in a PointSet pair",
        row8({"points": [{"handle": [1, 1], "target": [2, 2], "w": 3}]}),
    ),
    ("8 [true, 1] as a point", row8({"points": [{"handle": [True, 1], "target": [2, 2]}]})),
    ("9 mask 10,000 strokes r=16384 at 4096", row9),
    ("10 PNG signature + 50 GiB sparse zeros", row10),
    ("11 batch of a project reading outside", row11),
    ("12 20 MB node type", row12("type")),
    ("12 20 MB param name", row12("param")),
    ("12 20 MB link end", row12("link")),
    ("12 20 MB Export format", row12("format")),
    ("13 EPS named evil.png", row13("eps")),
    ("13 float TIFF named evil.png", row13("tiff")),
]


def measure(name: str, build: Callable, tmp: Path) -> str:
    world = World(tmp / name.split()[0] / str(abs(hash(name))))
    built = build(world)
    argv, during = built[0], built[1]
    popen = built[2] if len(built) > 2 else {}
    result = built[3] if len(built) > 3 else {}
    before = _bystanders(world)
    if during == "shell":
        start = time.perf_counter()
        env = dict(os.environ, PYTHONPATH=REPO)
        done = subprocess.run(
            ["bash", "-c", "set -o pipefail; " + argv[1]], env=env, capture_output=True, text=True
        )
        seconds, cpu, peak = time.perf_counter() - start, float("nan"), float("nan")
        code, message = (
            done.returncode,
            (done.stderr.strip().splitlines() or ["(nothing on stderr)"])[-1],
        )
    else:
        code, seconds, cpu, peak, message = child(argv, world, during, **popen)
    message = result.get("line", message)
    if "cleanup" in result:
        result["cleanup"]()
    changed = sorted(set(before.items()) ^ set(_bystanders(world).items()))
    outside = "no" if not changed else f"YES {changed[:2]}"
    shown = message.replace("|", "\\|")
    return f"| {name} | {code} | {seconds:.2f} | {cpu:.2f} | {peak:.0f} | {outside} | {len(message)} | {shown} |"


def _bystanders(world: World) -> dict:
    """What lies outside every output folder a row uses: the bystander's folder, HOME, the
    models, and the names at the top of the world."""
    state = {str(p): ("entry",) for p in world.root.iterdir()}
    for folder in (world.outside, world.home, world.models):
        state.update(snapshot(folder))
    return state


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.security.measure_issue26")
    parser.add_argument("--only", nargs="*", help="row numbers to run (default: all)")
    args = parser.parse_args(argv)
    print("| row | exit | wall s | CPU s | peak MB | outside changed | chars | message |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        world = World(Path(tmp) / "baseline")
        code, seconds, cpu, peak, _ = child(["nodes"], world)
        print(
            f"| baseline: `nodegraph nodes` (imports torch and the nodes) | {code} | {seconds:.2f} | {cpu:.2f} | {peak:.0f} | no | | |"
        )
        for name, build in ROWS:
            if args.only and name.split()[0] not in args.only:
                continue
            print(measure(name, build, Path(tmp)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
