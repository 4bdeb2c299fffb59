"""ExportAnimation node: renders a drag's trajectory frame by frame and writes an animated WebP, GIF, PNG or MP4.

Frames are synthesised at export time in batches (one synthesis each); points and the mask outline are drawn on top."""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from nodegraph.atomic import atomic_write
from nodegraph.node import Input, Node, Output, Param
from nodegraph.views import FilmView, PortView, register_port_view

from .export import MARKER, check_target
from .trajectory import TRAJECTORY, Trajectory
from .types import GENERATOR, image_to_uint8

# Suffix -> format. The animated PNG carries the project (its text chunk, as Export's PNG) and
# so does the animated WebP (its XMP chunk); GIF and MP4 carry only nodegraph's marker
# (docs/PROJECTS.md, "Animations").
ANIMATION_FORMATS = {".webp": "WEBP", ".gif": "GIF", ".png": "PNG", ".mp4": "MP4"}
CARRIES_PROJECT = ("PNG", "WEBP")
VIDEO_EXTRA = 'MP4 needs the optional extra "video" (imageio with imageio-ffmpeg): pip install "nodegraph[video]"'
BATCH = 8  # frames per synthesis call
# Handles red (a ring where the stage started, a line along the tracked path, a dot where tracking
# has the handle at this frame), targets blue, a white line from each handle to its target.
HANDLE, TARGET, TO_TARGET = (255, 50, 50), (60, 120, 255), (255, 255, 255)
MASK_OUTLINE = (250, 210, 60)


@dataclass(frozen=True)
class FilmOptions:
    """How a trajectory becomes an animation: the ExportAnimation node's params."""

    fps: int = 10
    every: int = 1
    overlay: bool = True
    hold_last: float = 1.0
    size: int = 0


class ExportAnimationNode(Node):
    type_name = "ExportAnimation"
    category = "Output"
    doc = "Writes a drag's trajectory as an animated WebP or PNG (both carry the project), GIF or MP4 (each frame costs a synthesis)."
    inputs = [Input("generator", GENERATOR), Input("trajectory", TRAJECTORY)]
    outputs = [Output("path", "PATH", "the animation written")]
    params = [
        Param("path", "path", "out/drag.webp", writes=True, doc=".webp or .png (animated, carry the project), .gif or .mp4 (extra 'video'); relative paths are under the project folder"),
        Param("fps", int, 10, min=1, max=60, doc="frames per second"),
        Param("every", int, 1, min=1, max=1000, doc="every N-th recorded frame (the last always)"),
        Param("overlay", bool, True, doc="draw handles (red ring: the stage's start; red line: the tracked path; red dot: the tracked point now), targets (blue) and the mask's outline (yellow)"),
        Param("hold_last", float, 1.0, min=0.0, max=60.0, doc="seconds the last frame stays"),
        Param("size", int, 0, min=0, max=4096, doc="output width and height in px; 0 = the generator's"),
        Param("overwrite", bool, False, doc="replace a file that nodegraph did not write"),
    ]  # fmt: skip
    pure = False
    is_output = True

    @classmethod
    def planned_writes(cls, params: dict, project_bytes, linked=frozenset()) -> tuple[int, int]:
        """One file; an animated PNG or WebP embeds the project."""
        return 1, project_bytes() if _suffix_format(params["path"]) in CARRIES_PROJECT else 0

    def impure_key(self, params: dict) -> str:
        key = f"output folder {self.ctx.output_dir}"
        if _suffix_format(params["path"]) in CARRIES_PROJECT:
            project = json.dumps(self.ctx.project_json(), sort_keys=True).encode()
            key += f"; embedded project sha256={hashlib.sha256(project).hexdigest()[:16]}"
        return key

    def compute(self, ctx, generator, trajectory: Trajectory):
        params = ctx.params
        path = Path(ctx.output_path(params["path"]))
        fmt = animation_format(path, f"ExportAnimation {ctx.node_id!r}")
        check_target(path, params["overwrite"], ctx.permissions, ctx.node_id)
        options = FilmOptions(
            params["fps"], params["every"], params["overlay"], params["hold_last"], params["size"]
        )
        project = ctx.project_json() if fmt in CARRIES_PROJECT else None
        data = encode_film(generator, trajectory, fmt, options, project, ctx.node_id, ctx)
        ctx.write_output(path, data)
        ctx.wrote(path)
        return {"path": str(path)}


def _suffix_format(path: str) -> str | None:
    return ANIMATION_FORMATS.get(Path(path).suffix.lower())


def animation_format(path: Path, who: str) -> str:
    """The format of `path` by its suffix; ValueError naming `who` and the suffixes otherwise,
    or naming the extra when MP4's encoder is not installed."""
    fmt = _suffix_format(str(path))
    if fmt is None:
        raise ValueError(
            f"{who}: cannot tell the format of {path}; use a .webp, .gif, .png or .mp4 suffix"
        )
    if fmt == "MP4" and not video_available():
        raise ValueError(f"{who}: cannot write {path.name}: {VIDEO_EXTRA}")
    return fmt


def video_available() -> bool:
    """True when the MP4 encoder (the `video` extra: imageio-ffmpeg and its ffmpeg) is installed."""
    try:
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return False
    return True


def encode_film(
    G, trajectory: Trajectory, fmt: str, options: FilmOptions, project=None, node_id=None, ctx=None
) -> bytes:
    """The animation file's bytes: the chosen frames rendered (progress on `ctx`), then encoded."""
    indices = frame_indices(len(trajectory), options.every)
    frames = render_frames(G, trajectory, indices, options.overlay, options.size, ctx)
    return encode_animation(frames, fmt, options.fps, options.hold_last, project, node_id)


def save_film(
    G, trajectory: Trajectory, path: str | Path, options: FilmOptions, project=None
) -> Path:
    """Writes the animation to `path` (a path the user chose, e.g. the editor's Save animation...)
    atomically; the format from the suffix. ValueError for an unknown suffix or a missing extra."""
    path = Path(path)
    fmt = animation_format(path, "Save animation")
    project = project if fmt in CARRIES_PROJECT else None
    atomic_write(path, encode_film(G, trajectory, fmt, options, project))
    return path


def frame_indices(count: int, every: int) -> list[int]:
    """Every `every`-th recorded frame, the last always included."""
    indices = list(range(0, count, every))
    if indices[-1] != count - 1:
        indices.append(count - 1)
    return indices


def synthesise(G, trajectory: Trajectory, indices: list[int]) -> torch.Tensor:
    """The images of frames `indices`: [len, 3, H, W] in [-1, 1], one synthesis call."""
    ws = torch.cat([trajectory.ws(i) for i in indices]).to(G.device)
    with torch.no_grad():
        return G.synthesis(ws, noise_mode="const").clamp(-1, 1).float().cpu()


def render_frames(
    G, trajectory: Trajectory, indices: list[int], overlay: bool, size: int, ctx=None
) -> list:
    """PIL images of the chosen frames, synthesised BATCH at a time (progress after each batch)."""
    from PIL import Image

    frames = []
    if ctx is not None:  # the bar shows from the first frame, not after the first batch
        ctx.progress(0, len(indices), message="rendering frames")
    for start in range(0, len(indices), BATCH):
        chunk = indices[start : start + BATCH]
        images = synthesise(G, trajectory, chunk)
        for row, index in enumerate(chunk):
            pil = Image.fromarray(image_to_uint8(images[row : row + 1]))
            if size and size != pil.width:
                pil = pil.resize((size, size), Image.LANCZOS)
            if overlay:
                draw_overlay(pil, trajectory, index, images.shape[-1])
            frames.append(pil)
        if ctx is not None:
            ctx.progress(min(start + BATCH, len(indices)), len(indices), message="rendering frames")
    return frames


def draw_overlay(pil, trajectory: Trajectory, index: int, resolution: int) -> None:
    """Frame `index`'s mask outline (its stage's region that may change, yellow), then for each
    pair: where its handle was at the stage's first frame (a red ring), the path tracking took
    from there to this frame (a red line through the recorded tracked points), the tracked point
    now (a red dot) joined to its target (blue dot) by a white line; on `pil` (the frame, maybe
    resized from `resolution`)."""
    from PIL import ImageDraw

    region = trajectory.mask(index)
    if region is not None:
        _draw_outline(pil, region)
    draw = ImageDraw.Draw(pil)
    scale = pil.width / resolution

    def px(x: float, y: float) -> tuple[float, float]:
        return (x + 0.5) * scale - 0.5, (y + 0.5) * scale - 0.5

    r = max(2.0, pil.width / 64)
    handles, targets = trajectory.points(index)
    tracked = trajectory.handles[trajectory.stage_first(index) : index + 1, : len(handles)].tolist()
    for p in range(len(handles)):
        path = [px(*frame[p]) for frame in tracked]
        if len(path) > 1:
            draw.line(path, fill=HANDLE, width=1)
        (sx, sy) = path[0]
        draw.ellipse([sx - r, sy - r, sx + r, sy + r], outline=HANDLE, width=1)
    for handle, target in zip(handles, targets):
        (hx, hy), (tx, ty) = px(*handle), px(*target)
        draw.line([(hx, hy), (tx, ty)], fill=TO_TARGET, width=1)
        draw.ellipse([tx - r, ty - r, tx + r, ty + r], fill=TARGET)
        draw.ellipse([hx - r, hy - r, hx + r, hy + r], fill=HANDLE)


def outline(region: torch.Tensor, size: int) -> torch.Tensor:
    """The border pixels of `region` (bool [h, w]) scaled to size x size: inside the region with a
    4-neighbour outside it (bool [size, size])."""
    import torch.nn.functional as F

    inside = F.interpolate(region[None, None].float(), size=(size, size), mode="nearest")
    eroded = -F.max_pool2d(-inside, kernel_size=3, stride=1, padding=1)
    return ((inside - eroded) > 0.5)[0, 0]


def _draw_outline(pil, region: torch.Tensor) -> None:
    import numpy as np
    from PIL import Image

    pixels = np.array(pil)
    pixels[outline(region, pil.width).numpy()] = MASK_OUTLINE
    pil.paste(Image.fromarray(pixels))


def encode_animation(
    frames: list, fmt: str, fps: int, hold_last: float, project=None, node_id=None
) -> bytes:
    """The frames at `fps`, the last held `hold_last` seconds longer, with nodegraph's marker
    (and, in a PNG or WebP, the project) as the format allows."""
    if fmt == "MP4":
        return _encode_mp4(frames, fps, hold_last)
    frame_ms = round(1000 / fps)
    durations = [frame_ms] * len(frames)
    durations[-1] += round(hold_last * 1000)
    kwargs: dict = {"save_all": True, "append_images": frames[1:], "duration": durations, "loop": 0}
    if fmt == "PNG":
        from nodegraph.project import project_pnginfo

        info = project_pnginfo(project or {}, node_id)
        info.add_text("Software", MARKER)
        kwargs["pnginfo"] = info
    elif fmt == "GIF":
        kwargs["comment"] = MARKER.encode()
    else:  # WebP: the marker in EXIF's Software tag, as Export's WebP; the project in XMP
        from PIL import Image

        from nodegraph.project import project_webp_xmp

        exif = Image.Exif()
        exif[0x0131] = MARKER
        kwargs["exif"] = exif.tobytes()
        if project is not None:
            kwargs["xmp"] = project_webp_xmp(project, node_id)
    buffer = io.BytesIO()
    frames[0].save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _encode_mp4(frames: list, fps: int, hold_last: float) -> bytes:
    """H.264 in MP4 through imageio-ffmpeg (yuv420p: even sizes, so frames are padded by a pixel
    where odd); the last frame repeated for `hold_last`; the marker in the comment tag."""
    import numpy as np

    try:
        import imageio_ffmpeg
    except ImportError:
        raise ValueError(VIDEO_EXTRA) from None
    width, height = frames[0].size
    even = (width + width % 2, height + height % 2)
    held = round(hold_last * fps)
    with tempfile.TemporaryDirectory(prefix="nodegraph-mp4-") as folder:
        target = str(Path(folder) / "film.mp4")
        writer = imageio_ffmpeg.write_frames(
            target, even, fps=fps, codec="libx264", pix_fmt_in="rgb24", pix_fmt_out="yuv420p",
            macro_block_size=1, quality=8, ffmpeg_log_level="error",
            output_params=["-metadata", f"comment={MARKER}", "-movflags", "+faststart"],
        )  # fmt: skip
        writer.send(None)
        for index, frame in enumerate(frames):
            pixels = np.zeros((even[1], even[0], 3), dtype=np.uint8)
            pixels[:height, :width] = np.asarray(frame.convert("RGB"))
            for _ in range(1 + (held if index == len(frames) - 1 else 0)):
                writer.send(np.ascontiguousarray(pixels))
        writer.close()
        return Path(target).read_bytes()


# --- the editor's scrubber (nodegraph.views, role "film") -----------------------------------
def _caption(trajectory: Trajectory, index: int) -> str:
    stage = int(trajectory.stages[index])
    stages = int(trajectory.stages[-1]) + 1
    where = f"  stage {stage + 1}/{stages}" if stages > 1 else ""
    distances = trajectory.distances_of(index)
    far = float(distances.max()) if distances.numel() else 0.0
    return f"frame {index + 1}/{len(trajectory)}  step {int(trajectory.steps[index])}{where}  {far:.1f} px left"


def _points(trajectory: Trajectory, index: int) -> tuple[list, list]:
    return trajectory.points(index)


def _save(G, trajectory: Trajectory, path: str, project) -> Path:
    return save_film(G, trajectory, path, FilmOptions(), project)


register_port_view(
    TRAJECTORY,
    PortView(
        "film",
        (220, 200, 120),
        film=FilmView(len, _caption, synthesise, _points, _save, tuple(ANIMATION_FORMATS)),
    ),
)
