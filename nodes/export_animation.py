"""ExportAnimation node: renders a drag's trajectory frame by frame and writes an animated WebP or GIF.

Frames are synthesised at export time in batches (one synthesis each); points are drawn on top."""

from __future__ import annotations

from pathlib import Path

import torch

from nodegraph.atomic import atomic_file
from nodegraph.node import Input, Node, Output, Param

from .export import check_target
from .trajectory import TRAJECTORY, Trajectory
from .types import GENERATOR, image_to_uint8

ANIMATION_FORMATS = {".webp": "WEBP", ".gif": "GIF"}
BATCH = 8  # frames per synthesis call


class ExportAnimationNode(Node):
    type_name = "ExportAnimation"
    category = "Output"
    doc = "Writes a drag's trajectory as an animated WebP or GIF (each frame costs a synthesis)."
    inputs = [Input("generator", GENERATOR), Input("trajectory", TRAJECTORY)]
    outputs = [Output("path", "PATH", "the animation written")]
    params = [
        Param("path", "path", "out/drag.webp", writes=True, doc=".webp or .gif; relative paths are under the project folder"),
        Param("fps", int, 10, min=1, max=60, doc="frames per second"),
        Param("every", int, 1, min=1, max=1000, doc="every N-th recorded frame (the last always)"),
        Param("overlay", bool, True, doc="draw handles (red), targets (blue)"),
        Param("hold_last", float, 1.0, min=0.0, max=60.0, doc="seconds the last frame stays"),
        Param("size", int, 0, min=0, max=4096, doc="output width and height in px; 0 = the generator's"),
        Param("overwrite", bool, False, doc="replace a file that nodegraph did not write"),
    ]  # fmt: skip
    pure = False
    is_output = True

    def impure_key(self, params: dict) -> str:
        return f"output folder {self.ctx.output_dir}"

    def compute(self, ctx, generator, trajectory: Trajectory):
        params = ctx.params
        path = Path(ctx.output_path(params["path"]))
        fmt = ANIMATION_FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise ValueError(
                f"ExportAnimation {ctx.node_id!r}: cannot tell the format of {path}; use a .webp or .gif suffix"
            )
        check_target(path, params["overwrite"], ctx.permissions, ctx.node_id)
        indices = frame_indices(len(trajectory), params["every"])
        frames = render_frames(
            generator, trajectory, indices, params["overlay"], params["size"], ctx
        )
        write_animation(path, frames, fmt, params["fps"], params["hold_last"])
        ctx.wrote(path)
        return {"path": str(path)}


def frame_indices(count: int, every: int) -> list[int]:
    """Every `every`-th recorded frame, the last always included."""
    indices = list(range(0, count, every))
    if indices[-1] != count - 1:
        indices.append(count - 1)
    return indices


def render_frames(
    G, trajectory: Trajectory, indices: list[int], overlay: bool, size: int, ctx=None
) -> list:
    """PIL images of the chosen frames, synthesised BATCH at a time (progress after each batch)."""
    from PIL import Image, ImageDraw

    frames = []
    for start in range(0, len(indices), BATCH):
        chunk = indices[start : start + BATCH]
        ws = torch.cat([trajectory.ws(i) for i in chunk]).to(G.device)
        with torch.no_grad():
            images = G.synthesis(ws, noise_mode="const").clamp(-1, 1)
        for row, index in enumerate(chunk):
            pil = Image.fromarray(image_to_uint8(images[row : row + 1]))
            scale = 1.0
            if size and size != pil.width:
                scale = size / pil.width
                pil = pil.resize((size, size), Image.LANCZOS)
            if overlay:
                draw = ImageDraw.Draw(pil)
                r = max(2.0, pil.width / 64)
                for (hx, hy), (tx, ty) in zip(
                    trajectory.handles[index].tolist(), trajectory.targets[index].tolist()
                ):
                    hx, hy, tx, ty = hx * scale, hy * scale, tx * scale, ty * scale
                    draw.line([(hx, hy), (tx, ty)], fill=(255, 255, 255), width=1)
                    draw.ellipse([tx - r, ty - r, tx + r, ty + r], fill=(60, 120, 255))
                    draw.ellipse([hx - r, hy - r, hx + r, hy + r], fill=(255, 50, 50))
            frames.append(pil)
        if ctx is not None:
            ctx.progress(min(start + BATCH, len(indices)), len(indices), message="rendering frames")
    return frames


def write_animation(path: Path, frames: list, fmt: str, fps: int, hold_last: float) -> None:
    """The frames at `fps`, the last held `hold_last` seconds longer; written atomically."""
    frame_ms = round(1000 / fps)
    durations = [frame_ms] * len(frames)
    durations[-1] += round(hold_last * 1000)
    with atomic_file(path) as f:
        frames[0].save(
            f, format=fmt, save_all=True, append_images=frames[1:], duration=durations, loop=0
        )
