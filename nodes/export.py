"""Export node: writes the image (PNG with the project embedded, JPEG, WebP) and/or the latent (safetensors).

Writes atomically, and refuses to overwrite a file that nodegraph did not write unless
`overwrite` is set, so a typo in a path never destroys someone's photo.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from nodegraph.node import Input, Node, Output, Param
from nodegraph.project import atomic_write

from .types import IMAGE, LATENT, image_to_uint8

MARKER = "written by nodegraph"
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


class ExportNode(Node):
    type_name = "Export"
    category = "Output"
    doc = "Writes the image and/or the latent. A PNG carries the project, so it reopens as the project."
    inputs = [Input("image", IMAGE, optional=True), Input("latent", LATENT, optional=True)]
    outputs = [Output("path", "PATH", "the file written (image, else latent)")]
    params = [
        Param("path", "path", "out/image.png", doc="relative paths are under the project folder (or --output-dir)"),
        Param("format", str, "auto", choices=("auto", "png", "jpeg", "webp"), doc="image format; auto = from the file suffix"),
        Param("quality", int, 95, min=1, max=100, doc="JPEG/WebP quality"),
        Param("overwrite", bool, False, doc="replace a file that nodegraph did not write"),
    ]
    pure = False  # writes files: always runs when asked
    is_output = True

    def compute(self, ctx, image=None, latent=None):
        params = ctx.params
        if image is None and latent is None:
            raise ValueError(f"Export {ctx.node_id!r} has nothing to write: link an image or a latent to it")
        path = Path(ctx.output_path(params["path"]))
        written = []
        if image is not None:
            fmt = image_format(path, params["format"])
            write_image(path, image, fmt, params["quality"], params["overwrite"], ctx.project_json(), ctx.node_id)
            written.append(path)
        if latent is not None:
            latent_path = path if path.suffix == ".safetensors" else path.with_suffix(".latent.safetensors")
            if image is None and path.suffix != ".safetensors":
                latent_path = path.with_suffix(".safetensors")
            write_latent(latent_path, latent, params["overwrite"])
            written.append(latent_path)
        for p in written:
            ctx.wrote(p)
        return {"path": str(written[0])}


def image_format(path: Path, fmt: str) -> str:
    if fmt != "auto":
        return {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}[fmt]
    try:
        return IMAGE_FORMATS[path.suffix.lower()]
    except KeyError:
        raise ValueError(f"cannot tell the image format of {path}: use a .png, .jpg or .webp suffix, or set `format`") from None


def write_image(path: Path, image, fmt: str, quality: int, overwrite: bool, project: dict | None, node_id: str | None) -> None:
    """PNG: the project JSON and the exporting node's id in text chunks (nodegraph.project)."""
    from PIL import Image

    from nodegraph.project import project_pnginfo

    _check_overwrite(path, overwrite)
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
    _atomic_write(path, lambda f: pil.save(f, format=fmt, **kwargs))


def write_latent(path: Path, latent, overwrite: bool) -> None:
    from safetensors.torch import save

    _check_overwrite(path, overwrite)
    metadata = {"Software": MARKER, "space": latent.space, "resolution": str(latent.resolution), "source": latent.source}
    data = save({"ws": latent.ws.detach().float().cpu().contiguous()}, metadata=metadata)
    _atomic_write(path, lambda f: f.write(data))


def written_by_us(path: Path) -> bool:
    """True when the file carries nodegraph's marker (so overwriting it loses nothing foreign)."""
    try:
        if path.suffix == ".safetensors":
            with open(path, "rb") as f:
                size = int.from_bytes(f.read(8), "little")
                header = json.loads(f.read(min(size, 1 << 20)))
            return header.get("__metadata__", {}).get("Software") == MARKER
        from PIL import Image

        with Image.open(path) as img:
            img.load()
            texts = json.dumps({k: str(v) for k, v in img.info.items() if isinstance(v, str | bytes)}, default=str)
            exif = img.getexif().get(0x0131, "")
        return MARKER in texts or MARKER in str(exif)
    except (OSError, ValueError):
        return False


def _check_overwrite(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite and not written_by_us(path):
        raise FileExistsError(f"{path} exists and was not written by nodegraph: set the Export node's overwrite=true or choose another path")


def _atomic_write(path: Path, write) -> None:
    """Render into memory, then the engine's atomic write (temp file, fsync, rename): a failed
    export leaves the old file intact."""
    buffer = io.BytesIO()
    write(buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, buffer.getvalue())
