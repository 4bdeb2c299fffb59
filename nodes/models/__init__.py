"""The model manager: the published models (catalogue), the cache, downloads and `get`, so a
Generator's `checkpoint` can name a model (docs/MODEL_MANAGER.md)."""

from .cache import ModelError, cache_root, model_path
from .catalogue import MODELS, ModelEntry, find_model
from .download import ChecksumMismatch, DownloadError
from .manager import ModelNotCached, cached_model_path, get_model, model_reference

__all__ = [
    "MODELS", "ChecksumMismatch", "DownloadError", "ModelEntry", "ModelError", "ModelNotCached",
    "cache_root", "cached_model_path", "find_model", "get_model", "model_path", "model_reference",
]  # fmt: skip
