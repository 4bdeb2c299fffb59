"""The published models the official DragGAN loads (docs/MODEL_MANAGER.md, "The published
models"): name, family, resolution, approximate size and where each file lives. Data only."""

from __future__ import annotations

from dataclasses import asdict, dataclass

NGC_STYLEGAN2 = "https://api.ngc.nvidia.com/v2/models/nvidia/research/stylegan2/versions/1/files/"
NGC_STYLEGAN3 = "https://api.ngc.nvidia.com/v2/models/nvidia/research/stylegan3/versions/1/files/"
SELF_DISTILLED = "https://storage.googleapis.com/self-distilled-stylegan/"
STYLEGAN2_TF = "http://d36zk2xti64re0.cloudfront.net/stylegan2/networks/"


@dataclass(frozen=True)
class ModelEntry:
    """One published generator. `base_url` None: no direct link (the user downloads the file by
    hand and registers it, or a mirror serves it). `approx_mb` is an estimate from the networks'
    parameter counts (G, D and the moving average G in one pickle), not a measured size."""

    name: str
    family: str
    height: int
    width: int
    approx_mb: int
    file: str
    base_url: str | None
    file_format: str = "pytorch"  # "pytorch" (NVIDIA persistent classes) or "tensorflow"
    note: str = ""

    @property
    def url(self) -> str | None:
        return None if self.base_url is None else self.base_url + self.file

    @property
    def resolution(self) -> str:
        return f"{self.height}x{self.width}"

    def to_dict(self) -> dict:
        return dict(asdict(self), url=self.url, resolution=self.resolution)


def _stylegan3(variant: str, dataset: str, size: int, approx_mb: int) -> ModelEntry:
    return ModelEntry(
        f"stylegan3-{variant}-{dataset}-{size}", f"StyleGAN3-{variant.upper()}", size, size,
        approx_mb, f"stylegan3-{variant}-{dataset}-{size}x{size}.pkl", NGC_STYLEGAN3,
    )  # fmt: skip


MODELS: tuple[ModelEntry, ...] = (
    ModelEntry("stylegan2-ffhq-512", "StyleGAN2", 512, 512, 360, "stylegan2-ffhq-512x512.pkl", NGC_STYLEGAN2, note="faces"),
    ModelEntry("stylegan2-afhqcat-512", "StyleGAN2", 512, 512, 360, "stylegan2-afhqcat-512x512.pkl", NGC_STYLEGAN2, note="cat faces"),
    ModelEntry("stylegan2-lions-512", "StyleGAN2 (self-distilled)", 512, 512, 360, "lions_512_pytorch.pkl", SELF_DISTILLED),
    ModelEntry("stylegan2-dogs-1024", "StyleGAN2 (self-distilled)", 1024, 1024, 380, "dogs_1024_pytorch.pkl", SELF_DISTILLED),
    ModelEntry("stylegan2-horses-256", "StyleGAN2 (self-distilled)", 256, 256, 300, "horses_256_pytorch.pkl", SELF_DISTILLED),
    ModelEntry("stylegan2-elephants-512", "StyleGAN2 (self-distilled)", 512, 512, 360, "elephants_512_pytorch.pkl", SELF_DISTILLED),
    ModelEntry("stylegan2-car-config-f", "StyleGAN2 (TensorFlow)", 512, 512, 360, "stylegan2-car-config-f.pkl", STYLEGAN2_TF, "tensorflow", "cars in a 512x384 band"),
    ModelEntry("stylegan2-cat-config-f", "StyleGAN2 (TensorFlow)", 256, 256, 300, "stylegan2-cat-config-f.pkl", STYLEGAN2_TF, "tensorflow"),
    ModelEntry("stylegan-human-v2-512", "StyleGAN-Human", 512, 256, 330, "stylegan_human_v2_512.pkl", None, note="full-body humans"),
    ModelEntry("stylegan-human-v2-1024", "StyleGAN-Human", 1024, 512, 380, "stylegan_human_v2_1024.pkl", None, note="full-body humans"),
    ModelEntry("stylegan2-lhq-256", "StyleGAN2", 256, 256, 300, "stylegan2-lhq-256.pkl", None, note="landscapes"),
    *(
        _stylegan3(variant, dataset, size, mb)
        for variant in ("t", "r")
        for dataset, size, mb in (
            ("ffhqu", 256, 280), ("ffhqu", 1024, 300), ("ffhq", 1024, 300),
            ("afhqv2", 512, 290), ("metfaces", 1024, 300), ("metfacesu", 1024, 300),
        )
    ),
)  # fmt: skip

BY_NAME: dict[str, ModelEntry] = {m.name: m for m in MODELS}


def find_model(name: str) -> ModelEntry | None:
    """The entry called `name`, or whose file is `name` (with or without .pkl, as the official
    DragGAN's download script names it: `stylegan2_lions_512_pytorch` too); None if none."""
    if name in BY_NAME:
        return BY_NAME[name]
    stem = name.removesuffix(".pkl").removeprefix("stylegan2_")
    return next((m for m in MODELS if m.file.removesuffix(".pkl") == stem), None)
