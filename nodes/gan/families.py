"""The generator families a checkpoint can hold, StyleGAN2 and StyleGAN3, told apart by the
config's `architecture` ('skip' or 'stylegan3'): reading a config, building its generator, naming it.
"""

from __future__ import annotations

from .model import Generator, GeneratorConfig
from .stylegan3 import ARCHITECTURE as STYLEGAN3
from .stylegan3 import StyleGAN3Config, StyleGAN3Generator

AnyGenerator = Generator | StyleGAN3Generator
AnyConfig = GeneratorConfig | StyleGAN3Config


def config_from_dict(data: dict) -> AnyConfig:
    """The config of either family from its JSON form; ValueError/TypeError when malformed."""
    if data.get("architecture") == STYLEGAN3:
        return StyleGAN3Config.from_dict(data)
    return GeneratorConfig.from_dict(data)


def build_generator(cfg: AnyConfig) -> AnyGenerator:
    """A generator with fresh weights for cfg (loading then replaces them)."""
    if isinstance(cfg, StyleGAN3Config):
        return StyleGAN3Generator(cfg)
    return Generator(cfg)


def family_name(cfg: AnyConfig) -> str:
    """What `nodegraph info` calls it: 'StyleGAN2', 'StyleGAN3-T', 'StyleGAN3-R' or 'StyleGAN3 (custom)'."""
    if isinstance(cfg, StyleGAN3Config):
        return f"StyleGAN3-{cfg.variant}" if cfg.variant != "custom" else "StyleGAN3 (custom)"
    return "StyleGAN2"


def has_input_transform(G: AnyGenerator) -> bool:
    """Whether G's input can be translated and rotated (StyleGAN3's Fourier features)."""
    return isinstance(G, StyleGAN3Generator)
