"""Export node: writes the image (PNG with the project embedded, JPEG, WebP), the latent and/or a drag's trajectory (safetensors).

Writes atomically through the run's bound output folder (nodegraph/bound.py); refuses to overwrite a file that nodegraph did not write unless
`overwrite` is set, so a typo in a path never destroys someone's photo. A project file cannot
allow that by itself: the user must too (the trust rule, docs/PROJECTS.md).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from nodegraph.node import Input, Node, Output, Param
from nodegraph.png_text import SIGNATURE as PNG_SIGNATURE
from nodegraph.png_text import read_text
from nodegraph.readers import kind_of, open_regular
from nodegraph.trust import ALLOW_FOREIGN_FLAG, Permissions, TrustError

from .trajectory import TRAJECTORY
from .trajectory_file import SUFFIX as TRAJECTORY_SUFFIX
from .trajectory_file import encode_trajectory, trajectory_path
from .types import IMAGE, LATENT, image_to_uint8

MARKER = "written by nodegraph"
MP4_MARKER_WITHIN = 1 << 20  # an MP4 nodegraph wrote has its metadata (moov) at the start
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


class ExportNode(Node):
    type_name = "Export"
    category = "Output"
    doc = "Writes the image, the latent and/or a drag's trajectory. A PNG carries the project, so it reopens as the project."
    inputs = [
        Input("image", IMAGE, optional=True),
        Input("latent", LATENT, optional=True),
        Input("trajectory", TRAJECTORY, optional=True, doc="written as <path stem>.trajectory.safetensors (TrajectoryLoad reads it back)"),
    ]  # fmt: skip
    outputs = [Output("path", "PATH", "the file written (image, else latent, else trajectory)")]
    params = [
        Param("path", "path", "out/image.png", writes=True, doc="relative paths are under the project folder (or --output-dir); a project writes only inside it"),
        Param("format", str, "auto", choices=("auto", "png", "jpeg", "webp"), doc="image format; auto = from the file suffix"),
        Param("quality", int, 95, min=1, max=100, doc="JPEG/WebP quality"),
        Param("overwrite", bool, False, doc="replace a file that nodegraph did not write (from a project file, only with the user's permission too)"),
    ]
    # Cached like any node: besides its inputs and params, what it writes depends on the output
    # folder and (a PNG) the project it embeds, so those make its impure key; a file it wrote
    # that is deleted or changed since makes it write again (the evaluator checks, ctx.wrote).
    pure = False
    is_output = True

    @classmethod
    def planned_writes(cls, params: dict, project_bytes, linked=frozenset()) -> tuple[int, int]:
        """A file per linked input (at least one); a PNG image embeds the project."""
        files = max(1, len({"image", "latent", "trajectory"} & set(linked)))
        image = "image" in linked or not linked
        if image and image_format_or_none(Path(params["path"]), params["format"]) == "PNG":
            return files, project_bytes()
        return files, 0

    def impure_key(self, params: dict) -> str:
        key = f"output folder {self.ctx.output_dir}"
        if image_format_or_none(Path(params["path"]), params["format"]) == "PNG":
            project = json.dumps(self.ctx.project_json(), sort_keys=True).encode()
            key += f"; embedded project sha256={hashlib.sha256(project).hexdigest()[:16]}"
        return key

    def compute(self, ctx, image=None, latent=None, trajectory=None):
        params = ctx.params
        if image is None and latent is None and trajectory is None:
            raise ValueError(f"Export {ctx.node_id!r} has nothing to write: link an image, a latent or a trajectory to it")
        path = Path(ctx.output_path(params["path"]))
        latent_path = trajectory_file = None
        if latent is not None:
            latent_path = path if path.suffix == ".safetensors" else path.with_suffix(".latent.safetensors")
            if image is None and path.suffix != ".safetensors":
                latent_path = path.with_suffix(".safetensors")
            if path.name.endswith(TRAJECTORY_SUFFIX):  # the path names the trajectory's file
                latent_path = path.with_name(path.name[: -len(TRAJECTORY_SUFFIX)] + ".latent.safetensors")
            latent_path = ctx.output_path(latent_path)
        if trajectory is not None:
            trajectory_file = ctx.output_path(trajectory_path(path))
        fmt = image_format(path, params["format"]) if image is not None else None
        targets = [p for p in (path if image is not None else None, latent_path, trajectory_file) if p is not None]
        for target in targets:  # every target checked before anything is written
            check_target(target, params["overwrite"], ctx.permissions, ctx.node_id)
        if image is not None:  # encoded first: the write budget sees the size before any write
            ctx.write_output(path, encode_image(image, fmt, params["quality"], ctx.project_json(), ctx.node_id))
        if latent is not None:
            ctx.write_output(latent_path, encode_latent(latent))
        if trajectory is not None:
            try:
                data = encode_trajectory(trajectory, MARKER)
            except ValueError as e:
                raise ValueError(f"Export {ctx.node_id!r} cannot write {trajectory_file.name}: {e}") from None
            ctx.write_output(trajectory_file, data)
        for p in targets:
            ctx.wrote(p)
        return {"path": str(targets[0])}


def image_format_or_none(path: Path, fmt: str) -> str | None:
    try:
        return image_format(path, fmt)
    except ValueError:
        return None


def image_format(path: Path, fmt: str) -> str:
    if fmt != "auto":
        return {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}[fmt]
    try:
        return IMAGE_FORMATS[path.suffix.lower()]
    except KeyError:
        raise ValueError(f"cannot tell the image format of {path}: use a .png, .jpg or .webp suffix, or set `format`") from None


def encode_image(image, fmt: str, quality: int, project: dict | None, node_id: str | None) -> bytes:
    """The file's bytes. PNG: the project JSON and the exporting node's id in text chunks
    (nodegraph.project)."""
    import io

    from PIL import Image

    from nodegraph.project import project_pnginfo

    pil = Image.fromarray(image_to_uint8(image))
    kwargs: dict = {}
    if fmt == "PNG":
        info = project_pnginfo(project or {}, node_id)
        info.add_text("Software", MARKER)
        kwargs["pnginfo"] = info
    elif fmt == "JPEG":
        kwargs.update(quality=quality, comment=MARKER.encode())
    else:
        exif = Image.Exif()
        exif[0x0131] = MARKER  # Software tag
        kwargs.update(quality=quality, exif=exif.tobytes())
    buffer = io.BytesIO()
    pil.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def encode_latent(latent) -> bytes:
    from safetensors.torch import save

    metadata = {"Software": MARKER, "space": latent.space, "resolution": str(latent.resolution), "source": latent.source}
    return save({"ws": latent.ws.detach().float().cpu().contiguous()}, metadata=metadata)


def written_by_us(path: Path) -> bool:
    """True when the file carries nodegraph's marker (so overwriting it loses nothing foreign).
    PNG text chunks are read directly, so an embedded project of any size does not hide it."""
    try:
        with open_regular(path) as f:
            head = f.read(8)
            if head == PNG_SIGNATURE:
                return read_text(path, {"Software"}, 1024).get("Software") == MARKER
            if path.suffix == ".safetensors":
                f.seek(0)
                size = int.from_bytes(f.read(8), "little")
                header = json.loads(f.read(min(size, 1 << 20)))
                return header.get("__metadata__", {}).get("Software") == MARKER
            if path.suffix.lower() == ".mp4":  # ExportAnimation's MP4: the comment tag, moov first
                f.seek(0)
                return MARKER.encode() in f.read(MP4_MARKER_WITHIN)
            from PIL import Image

            f.seek(0)
            with Image.open(f, formats=["JPEG", "WEBP", "GIF"]) as img:  # comment, EXIF: in the header
                comment = img.info.get("comment", b"")
                exif = img.getexif().get(0x0131, "")
        return MARKER in str(comment) or MARKER in str(exif)
    except (OSError, ValueError, SyntaxError, AttributeError):
        return False


def check_target(path: Path, overwrite: bool, permissions: Permissions, node_id: str) -> None:
    """Refuses to replace anything but a regular file; a file nodegraph did not write only when
    the node asks (`overwrite`) and the user allowed it (TrustError otherwise)."""
    if not path.exists():
        return
    mode = os.stat(path).st_mode
    if not Path(path).is_file():
        raise ValueError(f"{path} exists and is {kind_of(mode)}, not a file: choose another path")
    if written_by_us(path):
        return
    if not overwrite:
        raise FileExistsError(f"{path} exists and was not written by nodegraph: set the Export node's overwrite=true or choose another path")
    if not permissions.overwrite_foreign:
        raise TrustError(
            f"{path.name!r} exists and was not written by nodegraph (a project's overwrite=true "
            f"is not enough): run with {ALLOW_FOREIGN_FLAG} if you trust this project, or choose "
            "another path",
            node_id, "overwrite", str(path), "overwrite_foreign",
        )  # fmt: skip

