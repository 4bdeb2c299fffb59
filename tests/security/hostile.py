"""Hostile inputs of issue 13, one builder per case: each writes its files into a World and returns
the `nodegraph` command line a new user would type, with the exit code and message we expect.

Shared by the tests (tests/security/test_hostile.py) and the measurement script
(`python -m tests.security.measure`), which runs each case in a fresh process."""

from __future__ import annotations

import functools
import json
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from nodegraph import Graph
from nodegraph.project import project_pnginfo

CONFIG_KEY = "nodegraph.generator_config"  # nodes.gan.checkpoint.CONFIG_KEY, spelled out: the
# hostile files are written without our writer, as a stranger would


@dataclass
class World:
    """tmp/home (HOME, so ~ lands there), tmp/outside (a bystander's files), tmp/project (the
    project's folder, its output folder unless --output-dir), tmp/out, tmp/models."""

    root: Path

    def __post_init__(self) -> None:
        for folder in (self.home, self.outside, self.project, self.out, self.models):
            folder.mkdir(parents=True, exist_ok=True)
        (self.outside / "photo.png").write_bytes(_png_bytes("red"))
        (self.home / "notes.txt").write_text("the user's own file")

    home = property(lambda self: self.root / "home")
    outside = property(lambda self: self.root / "outside")
    project = property(lambda self: self.root / "project")
    out = property(lambda self: self.root / "out")
    models = property(lambda self: self.root / "models")

    def checkpoint(self) -> str:
        """A tiny generator saved by us (read from outside the project folder: allowed)."""
        from nodes.gan import save_generator
        from tests.tiny import make_tiny_generator

        path = self.models / "tiny16.safetensors"
        if not path.exists():
            save_generator(make_tiny_generator(resolution=16), path)
        return str(path)


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[World], list[str]]  # writes the files, returns argv for nodegraph.cli.main
    exit_code: int
    message: str  # a fragment of the one-line error (or of stdout when exit_code is 0)


def _png_bytes(color: str, size: int = 4) -> bytes:
    import io

    buffer = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buffer, format="PNG")
    return buffer.getvalue()


def save_project(world: World, build: Callable[[Graph], None], name: str = "p.ngproj.json") -> str:
    g = Graph()
    build(g)
    path = world.project / name
    g.save(path)
    return str(path)


def render_graph(world: World, export_path: str, **export_params) -> Callable[[Graph], None]:
    """Generator -> Latent -> Render -> Export(path)."""

    def build(g: Graph) -> None:
        gen = g.add("Generator", id="gen", checkpoint=world.checkpoint())
        lat = g.add("Latent", id="latent", seed=1)
        ren = g.add("Render", id="render")
        exp = g.add("Export", id="export", path=export_path, **export_params)
        g.connect(gen, "generator", lat, "generator")
        g.connect(gen, "generator", ren, "generator")
        g.connect(lat, "latent", ren, "latent")
        g.connect(ren, "image", exp, "image")

    return build


def run(project: str, *extra: str) -> list[str]:
    return ["run", project, "--device", "cpu", "--quiet", *extra]


# --- the trust rule: writes ---------------------------------------------------------------------
def export_absolute(world: World) -> list[str]:
    return run(save_project(world, render_graph(world, str(world.outside / "x" / "x.png"))))


def export_dotdot(world: World) -> list[str]:
    return run(save_project(world, render_graph(world, "../outside/x/x.png")))


def export_home(world: World) -> list[str]:
    return run(save_project(world, render_graph(world, "~/x/x.png")))


def export_symlinked_folder(world: World) -> list[str]:
    (world.project / "link").symlink_to(world.outside, target_is_directory=True)
    return run(save_project(world, render_graph(world, "link/x.png")))


def export_escapes_output_dir(world: World) -> list[str]:
    return run(save_project(world, render_graph(world, "../x.png")), "--output-dir", str(world.out))


def export_foreign_overwrite(world: World) -> list[str]:
    (world.project / "photo.png").write_bytes(_png_bytes("blue"))
    build = render_graph(world, "photo.png", overwrite=True, format="png")
    return run(save_project(world, build))


def export_foreign_overwrite_from_png(world: World) -> list[str]:
    """A received PNG whose embedded project overwrites photo.png next to it."""
    (world.project / "photo.png").write_bytes(_png_bytes("blue"))
    g = Graph()
    render_graph(world, "photo.png", overwrite=True, format="png")(g)
    received = world.project / "received.png"
    Image.new("RGB", (4, 4)).save(received, pnginfo=project_pnginfo(g.to_json(), "export"))
    return run(str(received))


# --- readers: regular files only ------------------------------------------------------------------
def _fifo(world: World) -> str:
    path = world.project / "pipe"
    os.mkfifo(path)
    return str(path)


def fifo_image_load(world: World) -> list[str]:
    fifo = _fifo(world)
    return run(save_project(world, lambda g: g.add("ImageLoad", id="load", path=fifo)))


def device_image_load(world: World) -> list[str]:
    return run(save_project(world, lambda g: g.add("ImageLoad", id="load", path="/dev/zero")))


def folder_image_load(world: World) -> list[str]:
    return run(
        save_project(world, lambda g: g.add("ImageLoad", id="load", path=str(world.outside)))
    )


def fifo_latent_file(world: World) -> list[str]:
    fifo, ckpt = _fifo(world), world.checkpoint()

    def build(g: Graph) -> None:
        gen = g.add("Generator", id="gen", checkpoint=ckpt)
        lat = g.add("Latent", id="latent", from_file=fifo)
        g.connect(gen, "generator", lat, "generator")

    return run(save_project(world, build))


def fifo_mask_image(world: World) -> list[str]:
    fifo = _fifo(world)
    return run(save_project(world, lambda g: g.add("Mask", id="mask", size=8, from_image=fifo)))


def fifo_sidecar(world: World) -> list[str]:
    os.mkfifo(world.project / "p.ngproj.0123456789abcdef.safetensors")
    doc = {"format": "nodegraph.project", "version": 1, "nodes": [], "links": [],
           "sidecar": {"file": "p.ngproj.0123456789abcdef.safetensors", "sha256": "0" * 64}}  # fmt: skip
    path = world.project / "p.ngproj.json"
    path.write_text(json.dumps(doc))
    return run(str(path))


def image_pixel_bomb(world: World) -> list[str]:
    """A 70-byte PNG whose header claims 100,000 x 100,000 pixels."""
    png = bytearray(_png_bytes("red", size=1))
    ihdr = 8 + 8  # signature, then the IHDR chunk's length and type
    png[ihdr : ihdr + 8] = struct.pack(">II", 100_000, 100_000)
    png[ihdr + 13 : ihdr + 17] = struct.pack(">I", zlib.crc32(bytes(png[ihdr - 4 : ihdr + 13])))
    (world.project / "bomb.png").write_bytes(bytes(png))
    return run(save_project(world, lambda g: g.add("ImageLoad", id="load", path="bomb.png")))


# --- sizes ----------------------------------------------------------------------------------------
def mask_50_points_at_4096(world: World) -> list[str]:
    """The 800-byte project that painted for 13 s: now it paints fast (exit 0)."""
    points = [[(i * 797) % 4096, (i * 1571) % 4096] for i in range(50)]
    strokes = [{"points": points, "radius": 4096, "mode": "add"}]
    return run(save_project(world, lambda g: g.add("Mask", id="mask", size=4096, strokes=strokes)))


def pointset_100k(world: World) -> list[str]:
    doc = json.loads(
        Path(save_project(world, lambda g: g.add("PointSet", id="points"))).read_text()
    )
    doc["nodes"][0]["params"]["points"] = [{"handle": [1, 1], "target": [2, 2]}] * 100_000
    path = world.project / "p.ngproj.json"
    path.write_text(json.dumps(doc))
    return run(str(path))


def project_nested_deep(world: World) -> list[str]:
    path = world.project / "deep.ngproj.json"
    path.write_text(
        '{"format": "nodegraph.project", "version": 1, "meta": '
        + "[" * 100_000
        + "]" * 100_000
        + "}"
    )
    return run(str(path))


def big_embedded_project_rerun(world: World) -> list[str]:
    """Export wrote big.png carrying a 2 MiB project; re-running the PNG replaces its own file."""
    g = Graph()
    render_graph(world, "big.png")(g)
    g.meta["notes"] = "x" * (2 * 1024**2)
    g.evaluate(device="cpu", output_dir=world.project)
    return run(str(world.project / "big.png"))


# --- checkpoints ----------------------------------------------------------------------------------
TINY_CONFIG = dict(z_dim=16, w_dim=16, c_dim=0, img_resolution=16, img_channels=3, mapping_layers=2,
                   channel_base=512, channel_max=32, conv_clamp=256, architecture="skip")  # fmt: skip


def hostile_checkpoint(world: World, **config) -> str:
    """A 1 KB safetensors file: one small tensor and a config that says anything."""
    import torch
    from safetensors.torch import save_file

    path = world.project / "model.safetensors"
    metadata = {CONFIG_KEY: json.dumps(dict(TINY_CONFIG, **config))}
    save_file({"mapping.w_avg": torch.zeros(16)}, str(path), metadata=metadata)
    return str(path)


def info_of(**config) -> Callable[[World], list[str]]:
    return lambda world: ["info", hostile_checkpoint(world, **config)]


def generator_node_of(**config) -> Callable[[World], list[str]]:
    def build(world: World) -> list[str]:
        ckpt = hostile_checkpoint(world, **config)
        return run(save_project(world, lambda g: g.add("Generator", id="gen", checkpoint=ckpt)))

    return build


def info_nested_config(depth: int) -> Callable[[World], list[str]]:
    def build(world: World) -> list[str]:
        import torch
        from safetensors.torch import save_file

        path = world.project / "nested.safetensors"
        save_file(
            {"x": torch.zeros(1)}, str(path), metadata={CONFIG_KEY: "[" * depth + "]" * depth}
        )
        return ["info", str(path)]

    return build


def convert_of(pickle_bytes: Callable[[], bytes]) -> Callable[[World], list[str]]:
    def build(world: World) -> list[str]:
        path = world.project / "network.pkl"
        path.write_bytes(pickle_bytes())
        return ["convert", str(path), str(world.project / "out.safetensors")]

    return build


class _Opcodes:
    """Writes protocol-2 pickle opcodes by hand, as a stranger would: records of NVIDIA's
    persistent-class format (torch_utils.persistence._reconstruct_persistent_obj(meta))."""

    def __init__(self) -> None:
        self.out = bytearray(b"\x80\x02")
        self.memo = 0

    def text(self, s: str) -> None:
        data = s.encode()
        self.out += b"X" + struct.pack("<I", len(data)) + data

    def put(self) -> int:
        self.out += b"r" + struct.pack("<I", self.memo)
        self.memo += 1
        return self.memo - 1

    def get(self, index: int) -> None:
        self.out += b"j" + struct.pack("<I", index)

    def record(self, modules: Callable[[], None]) -> None:
        """Pushes a persistent record whose state's _modules dict is filled by `modules`."""
        self.out += b"ctorch_utils.persistence\n_reconstruct_persistent_obj\n"
        self.out += b"}("  # meta = {
        for key, value in (("type", "class"), ("module_src", ""), ("class_name", "M")):
            self.text(key)
            self.text(value)
        self.text("state")
        self.out += b"}("  # state = {
        self.text("_modules")
        self.out += b"}("
        modules()
        self.out += b"uu"  # close _modules, state
        self.out += b"u\x85R"  # close meta; REDUCE with (meta,)

    def top(self, g_ema: Callable[[], None]) -> bytes:
        self.out += b"}("
        self.text("G_ema")
        g_ema()
        self.out += b"u."
        return bytes(self.out)


def shared_dag_pickle(levels: int = 60) -> bytes:
    """Record k holds record k-1 twice: `levels` records, 2^levels paths through them."""
    ops = _Opcodes()
    previous = None
    for _ in range(levels):

        def children(prev=previous) -> None:
            for name in ("a", "b"):
                if prev is not None:
                    ops.text(name)
                    ops.get(prev)

        ops.record(children)
        previous = ops.put()
        ops.out += b"0"  # POP: leave it in the memo only
    return ops.top(lambda: ops.get(previous))


def self_containing_pickle() -> bytes:
    """A record whose state's _modules dict is filled, after the record exists, with the record."""
    ops = _Opcodes()
    ops.out += b"ctorch_utils.persistence\n_reconstruct_persistent_obj\n}("
    for key, value in (("type", "class"), ("module_src", ""), ("class_name", "M")):
        ops.text(key)
        ops.text(value)
    ops.text("state")
    ops.out += b"}("
    ops.text("_modules")
    ops.out += b"}"
    modules = ops.put()
    ops.out += b"uu\x85R"
    record = ops.put()
    ops.get(modules)  # _modules["self"] = record
    ops.text("self")
    ops.get(record)
    ops.out += b"s0"  # SETITEM, then POP the dict
    ops.out += b"0"  # POP the record: the top dict below names it
    return ops.top(lambda: ops.get(record))


# --- checkpoints that declare more than their bytes hold (issue 26, row 3) ---------------------
def reconstruct_pickle(elements: int = 30_000_000) -> bytes:
    """A ~260-byte network pickle whose G_ema `_init_kwargs` resample_filter is numpy's
    `_reconstruct(ndarray, (elements,), 'f8')`: an array declared by its shape alone."""
    ops = _Opcodes()
    ops.out += b"ctorch_utils.persistence\n_reconstruct_persistent_obj\n}("
    for key, value in (("type", "class"), ("module_src", ""), ("class_name", "Generator")):
        ops.text(key)
        ops.text(value)
    ops.text("state")
    ops.out += b"}("
    ops.text("_init_kwargs")
    ops.out += b"}("
    ops.text("resample_filter")
    ops.out += b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
    ops.out += b"J" + struct.pack("<i", elements) + b"\x85"
    ops.text("f8")
    ops.out += b"\x87R" + b"uu" + b"u\x85R"
    record = ops.put()
    return ops.top(lambda: ops.get(record))


ZEROS = 250_000_000  # float32 zeros: 1 GB, under 1 MB once deflated


class _Storage:
    """Stands for a float32 storage of `numel` elements while data.pkl is pickled."""

    def __init__(self, numel: int) -> None:
        self.numel = numel


class _Tensor:
    """Pickles as torch.save pickles a tensor: torch._utils._rebuild_tensor_v2 of its storage."""

    def __init__(self, numel: int) -> None:
        self.storage = _Storage(numel)

    def __reduce__(self):
        import collections

        import torch

        numel = self.storage.numel
        args = (self.storage, 0, (numel,), (1,), False, collections.OrderedDict())
        return torch._utils._rebuild_tensor_v2, args


def _data_pkl(obj: object) -> bytes:
    """data.pkl as torch.save writes it: storages as persistent ids ('storage', type, key,
    location, numel), their bytes in archive/data/KEY."""
    import io
    import pickle

    import torch

    class Pickler(pickle.Pickler):
        def persistent_id(self, item):
            if isinstance(item, _Storage):
                return ("storage", torch.FloatStorage, "0", "cpu", item.numel)
            return None

    out = io.BytesIO()
    Pickler(out, protocol=2).dump(obj)
    return out.getvalue()


def deflated_zeros_zip(wrap: Callable[[object], object]) -> bytes:
    """A torch.save zip of wrap(a float32 tensor of ZEROS zeros), every entry DEFLATE-compressed
    (torch.save stores them): ~1 MB holding 1 GB. Streamed, so building it takes no 1 GB."""
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", _data_pkl(wrap(_Tensor(ZEROS))))
        archive.writestr("archive/byteorder", "little")
        with archive.open("archive/data/0", "w") as entry:
            chunk = bytes(1 << 20)
            for _ in range(ZEROS * 4 // len(chunk)):
                entry.write(chunk)
            entry.write(bytes(ZEROS * 4 % len(chunk)))
        archive.writestr("archive/version", "3\n")
    return out.getvalue()


@functools.cache
def zeros_rosinality_pt() -> bytes:
    """A ~970 KB rosinality-shaped .pt holding zeros(2.5e8) deflated."""
    return deflated_zeros_zip(lambda tensor: {"g_ema": {"style.1.weight": tensor}})


@functools.cache
def zeros_in_pickle() -> bytes:
    """A network pickle whose G_ema parameter is torch.storage._load_from_bytes(the deflated
    torch.save of a zeros(2.5e8) tensor)."""
    storage = deflated_zeros_zip(lambda tensor: tensor)
    ops = _Opcodes()
    ops.out[1:2] = b"\x03"  # protocol 3, for BINBYTES
    ops.out += b"ctorch_utils.persistence\n_reconstruct_persistent_obj\n}("
    for key, value in (("type", "class"), ("module_src", ""), ("class_name", "Generator")):
        ops.text(key)
        ops.text(value)
    ops.text("state")
    ops.out += b"}("
    ops.text("_parameters")
    ops.out += b"}("
    ops.text("w")
    ops.out += b"ctorch.storage\n_load_from_bytes\nB" + struct.pack("<I", len(storage)) + storage
    ops.out += b"\x85R" + b"uu" + b"u\x85R"
    record = ops.put()
    return ops.top(lambda: ops.get(record))


def lying_size_pt(declared: int = 4096) -> bytes:
    """zeros_rosinality_pt with the central directory (and local header) of archive/data/0
    declaring `declared` uncompressed bytes: the stream inflates to 1 GB all the same."""
    data = bytearray(zeros_rosinality_pt())
    name = b"archive/data/0"
    for signature, size_at, name_at in ((b"PK\x01\x02", 24, 46), (b"PK\x03\x04", 22, 30)):
        at = data.find(signature)
        while data[at + name_at : at + name_at + len(name)] != name:
            at = data.find(signature, at + 4)
        data[at + size_at : at + size_at + 4] = struct.pack("<I", declared)
    return bytes(data)


def checkpoint_file(name: str, content: Callable[[], bytes], command: str = "convert"):
    """`nodegraph convert NAME out.safetensors` (or `info NAME`) of a file holding content()."""

    def build(world: World) -> list[str]:
        path = world.project / name
        path.write_bytes(content())
        if command == "info":
            return ["info", str(path)]
        return ["convert", str(path), str(world.project / "out.safetensors")]

    return build


CASES = [
    Case("export_absolute", export_absolute, 2, "it is an absolute path"),
    Case("export_dotdot", export_dotdot, 2, "it climbs out with .."),
    Case("export_home", export_home, 2, "it starts with ~"),
    Case("export_symlinked_folder", export_symlinked_folder, 2, "symbolic link"),
    Case("export_escapes_output_dir", export_escapes_output_dir, 2, "leaves the output folder"),
    Case("export_foreign_overwrite", export_foreign_overwrite, 1, "--allow-overwrite-foreign"),
    Case(
        "export_foreign_overwrite_from_png",
        export_foreign_overwrite_from_png,
        1,
        "--allow-overwrite-foreign",
    ),
    Case("fifo_image_load", fifo_image_load, 1, "is a FIFO (named pipe), not a regular file"),
    Case("fifo_latent_file", fifo_latent_file, 1, "is a FIFO (named pipe), not a regular file"),
    Case("fifo_mask_image", fifo_mask_image, 1, "is a FIFO (named pipe), not a regular file"),
    Case("fifo_sidecar", fifo_sidecar, 2, "is a FIFO (named pipe), not a regular file"),
    Case("device_image_load", device_image_load, 1, "is a character device, not a regular file"),
    Case("folder_image_load", folder_image_load, 1, "is a folder, not a regular file"),
    Case("image_pixel_bomb", image_pixel_bomb, 1, "the limit is 50,000,000 pixels"),
    Case(
        "checkpoint_resolution_32768",
        info_of(img_resolution=32768),
        2,
        "img_resolution must be an integer in [4, 4096]",
    ),
    Case(
        "checkpoint_mapping_layers_1e7",
        info_of(mapping_layers=10**7),
        2,
        "mapping_layers must be an integer in [1, 32]",
    ),
    Case(
        "checkpoint_channel_base_1e12",
        info_of(channel_base=10**12),
        2,
        "channel_base must be an integer in [1, 1048576]",
    ),
    Case(
        "checkpoint_8192_base_3072",
        info_of(img_resolution=8192, channel_base=3072),
        2,
        "img_resolution must be an integer",
    ),
    Case(
        "checkpoint_base_below_resolution",
        info_of(img_resolution=1024, channel_base=512),
        2,
        "channel_base (512) must be at least img_resolution",
    ),
    Case(
        "checkpoint_mapping_lr_nan",
        info_of(mapping_lr_multiplier=float("nan")),
        2,
        "mapping_lr_multiplier must be a number",
    ),
    Case("checkpoint_config_misses_tensors", info_of(), 2, "but the file holds 16 in 1;"),
    Case(
        "generator_node_resolution_32768",
        generator_node_of(img_resolution=32768),
        1,
        "node 'gen' (Generator) failed: CheckpointError",
    ),
    Case(
        "generator_node_mapping_lr_nan",
        generator_node_of(mapping_lr_multiplier=float("nan")),
        1,
        "mapping_lr_multiplier must be a number",
    ),
    Case("info_config_nested_100000", info_nested_config(100_000), 2, "the limit is 65,536"),
    Case("info_config_nested_5000", info_nested_config(5_000), 2, "nested too deep"),
    Case(
        "convert_shared_dag_60", convert_of(shared_dag_pickle), 2, "nested deeper than 100 levels"
    ),
    Case(
        "convert_shared_dag_20",
        convert_of(lambda: shared_dag_pickle(20)),
        2,
        "is the same persistent record as",
    ),
    Case(
        "convert_self_containing_record", convert_of(self_containing_pickle), 2, "contains itself"
    ),
    Case("mask_50_points_at_4096", mask_50_points_at_4096, 0, ""),
    Case("pointset_100k", pointset_100k, 2, "the limit is 256"),
    Case("project_nested_deep", project_nested_deep, 2, "nested deeper than 64 levels"),
    Case("big_embedded_project_rerun", big_embedded_project_rerun, 0, "wrote"),
]
