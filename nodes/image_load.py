"""ImageLoad node: a picture file (PNG, JPEG, WebP) as an IMAGE at a generator's resolution."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from nodegraph.node import Input, Node, Output, Param, file_key
from nodegraph.readers import open_regular

from .types import GENERATOR, IMAGE

# Checked from the header, before anything is decoded (docs/PROJECTS.md, "Limits"): a few hundred
# bytes of PNG can claim gigapixels. 50 MP covers today's cameras.
MAX_IMAGE_PIXELS = 50_000_000
# The only formats Pillow may try, whatever the file is called: its other plugins are attack
# surface (EPS runs Ghostscript, TIFF decodes float and exotic layouts).
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP")
# What a refused file is, told by its first bytes, for the message.
_OTHER_FORMATS = (
    (b"%!PS", "PostScript/EPS"),
    (b"\xc5\xd0\xd3\xc6", "EPS"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"GIF8", "GIF"),
    (b"BM", "BMP"),
    (b"%PDF", "PDF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"8BPS", "PSD"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"P1", "PNM"), (b"P2", "PNM"), (b"P3", "PNM"), (b"P4", "PNM"), (b"P5", "PNM"), (b"P6", "PNM"),
)


class ImageLoadNode(Node):
    type_name = "ImageLoad"
    category = "Image"
    doc = (
        "Reads a PNG, JPEG or WebP file. Centre-crops it to a square (the middle of the longer "
        "side) and resizes that to the resolution (Lanczos): the linked generator's, else the "
        "`resolution` param. Transparency is dropped. Re-reads when the file changes."
    )
    inputs = [Input("generator", GENERATOR, optional=True, doc="link it to take its resolution")]
    outputs = [Output("image", IMAGE, "[1, 3, R, R] in [-1, 1]")]
    params = [
        Param("path", "path", "", doc="the picture; relative paths are under the project folder"),
        Param("resolution", int, 128, min=4, max=4096, doc="square size when no generator is linked"),
    ]
    pure = False  # reads a file

    def impure_key(self, params: dict) -> str:
        return file_key(self.ctx.resolve_path(params["path"])) if params["path"] else "no file"

    def compute(self, ctx, generator=None):
        if not ctx.params["path"]:
            raise ValueError(f"ImageLoad {ctx.node_id!r} has no path: set `path` to a PNG, JPEG or WebP file")
        size = generator.img_resolution if generator is not None else ctx.params["resolution"]
        image = load_image(ctx.resolve_path(ctx.params["path"]), size)
        return {"image": image.to(ctx.device if generator is None else generator.device)}


def load_image(path: str | Path, size: int) -> torch.Tensor:
    """The picture at `path` as [1, 3, size, size] in [-1, 1]: centre square, resized.

    ValueError naming the file when it is missing or not a readable image."""
    from PIL import Image

    with open_image(path, "image file", "check the ImageLoad path") as picture:
        picture = picture.convert("RGB")
    width, height = picture.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    square = picture.crop((left, top, left + side, top + side))
    square = square.resize((size, size), Image.Resampling.LANCZOS)
    pixels = torch.from_numpy(np.asarray(square, dtype=np.float32).copy())
    return (pixels / 127.5 - 1.0).permute(2, 0, 1).unsqueeze(0).contiguous()


@contextmanager
def open_image(path: str | Path, what: str, fix: str) -> Iterator:
    """A PIL image of the regular file at `path`, a PNG, JPEG or WebP by its content (whatever
    its name) whose header claims at most MAX_IMAGE_PIXELS, to decode inside the block.
    ValueError naming the file (`what`, then `fix`) on any fault, and the format it refused."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with open_regular(path) as f:
            head = f.read(16)
            other = next((name for magic, name in _OTHER_FORMATS if head.startswith(magic)), None)
            if other is not None:
                raise ValueError(
                    f"{what} {path} is a {other} file; only PNG, JPEG and WebP are read: {fix}"
                )
            f.seek(0)
            with Image.open(f, formats=IMAGE_FORMATS) as picture:
                width, height = picture.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise ValueError(
                        f"{what} {path} is {width}x{height} pixels; the limit is {MAX_IMAGE_PIXELS:,} pixels"
                    )
                yield picture
    except FileNotFoundError:
        raise ValueError(f"{what} {path} does not exist: {fix}") from None
    except Image.DecompressionBombError as e:  # Pillow's own check fired first, at open
        raise ValueError(f"{what} {path} is too large ({e}); the limit is {MAX_IMAGE_PIXELS:,} pixels") from None
    except UnidentifiedImageError:
        raise ValueError(f"{what} {path} is not a PNG, JPEG or WebP file (by its content): {fix}") from None
    except (OSError, SyntaxError) as e:
        raise ValueError(f"cannot read {what} {path} ({e}): give a PNG, JPEG or WebP file") from None
