"""Makes projects/assets/real_face.png: a "real" picture the bundled generator never produced.

A toyfaces render from parameters outside the ranges the generator was trained on (a larger
head, bigger eyes, a wider mouth, fuller hair, a darker background than any training face),
plus a hand-painted detail the renderer cannot draw (a mole on the cheek). real_image.ngproj.json
inverts it and drags it. `python projects/make_real_image.py` rewrites the PNG and prints the
landmarks the project's points come from; `--figure docs/inversion.png` also draws the comparison.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from nodes.toyfaces.latent_space import face_params, z_for_seeds
from nodes.toyfaces.params import PARAMS, with_params
from nodes.toyfaces.render import LANDMARK_INDEX, render

OUT = Path(__file__).parent / "assets" / "real_face.png"
SEED = 3_000_000  # a face from outside every seed range the generator or the benchmarks use
OUTSIDE = dict(head_size=0.29, eye_size=0.27, mouth_width=0.46, hair_volume=0.20, background_value=0.35)


def real_face_params() -> np.ndarray:
    params = with_params(face_params(z_for_seeds([SEED]))[0].numpy(), **OUTSIDE)
    ranges = {p.name: (p.low, p.high) for p in PARAMS}
    for name, value in OUTSIDE.items():  # every edit must leave the training range
        low, high = ranges[name]
        assert not low <= value <= high, name
    return params


def real_face() -> tuple[Image.Image, np.ndarray]:
    """(the picture, its landmarks [K, 2] in pixels)."""
    image, landmarks = render(real_face_params())
    pixels = ((image.transpose(1, 2, 0) + 1) * 127.5).round().clip(0, 255).astype(np.uint8)
    picture = Image.fromarray(pixels)
    mouth_right = landmarks[LANDMARK_INDEX["mouth_right"]]
    x, y = mouth_right[0] + 6, mouth_right[1] - 9  # on the cheek, above and right of the mouth
    ImageDraw.Draw(picture).ellipse((x - 1.6, y - 1.6, x + 1.6, y + 1.6), fill=(70, 40, 30))
    return picture, landmarks


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="write assets/real_face.png (and the docs figure)")
    parser.add_argument("--figure", type=Path, help="also run real_image.ngproj.json and save the comparison here")
    parser.add_argument("--checkpoint", help="generator for the figure (default: the bundled model)")
    args = parser.parse_args()
    picture, landmarks = real_face()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    picture.save(OUT)
    print(f"wrote {OUT}")
    for name in ("lip_lower", "lip_upper", "nose_tip", "mouth_left", "mouth_right", "chin"):
        x, y = landmarks[LANDMARK_INDEX[name]]
        print(f"{name:12} ({x:.1f}, {y:.1f})")
    if args.figure:
        print(f"wrote {figure(args.figure, args.checkpoint)}")


def figure(out: Path, checkpoint: str | None = None) -> Path:
    """original | W+ inversion | with Pivotal Tuning | after the project's drag, side by side
    (3x, nearest), from real_image.ngproj.json; `checkpoint` overrides the bundled model."""
    import torch

    from nodegraph import Graph
    from nodes.types import image_to_uint8

    torch.set_num_threads(1)  # two threads on two shared cores run several times slower
    graph = Graph.load(Path(__file__).parent / "real_image.ngproj.json")
    if checkpoint:
        graph.set("generator", checkpoint=checkpoint)
    generator, latent = graph.value("generator"), graph.value("invert", "latent")
    with torch.no_grad():
        pivot = generator.synthesis(latent.ws, noise_mode="const").clamp(-1, 1)
    panels = [
        ("photo", graph.value("photo")),
        ("W+ inversion", pivot),
        ("+ PTI", graph.value("invert", "image")),
        ("dragged", graph.value("drag", "image")),
    ]
    size = 3 * 128
    sheet = Image.new("RGB", (size * len(panels), size + 18), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (label, image) in enumerate(panels):
        tile = Image.fromarray(image_to_uint8(image)).resize((size, size), Image.Resampling.NEAREST)
        sheet.paste(tile, (i * size, 18))
        draw.text((i * size + 4, 3), label, fill="black")
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out


if __name__ == "__main__":
    main()
