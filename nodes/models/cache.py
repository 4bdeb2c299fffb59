"""Where the model manager keeps its files: `$NODEGRAPH_CACHE`, else the platform's user cache
folder; converted models, downloads in progress, and the sha256 recorded at first download."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

from nodegraph.atomic import atomic_write
from nodegraph.errors import CappedMessage
from nodegraph.readers import parse_json, read_regular

CACHE_ENV = "NODEGRAPH_CACHE"
CHECKSUMS_FILE = "checksums.json"
MAX_CHECKSUMS_BYTES = 4 * 2**20
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class ModelError(CappedMessage, Exception):
    """The model manager refused or failed: names the model, file or URL and the fix."""


def cache_root() -> Path:
    """`$NODEGRAPH_CACHE`, else ~/.cache/nodegraph (Linux, honouring XDG_CACHE_HOME),
    ~/Library/Caches/nodegraph (macOS), %LOCALAPPDATA%\\nodegraph\\Cache (Windows)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "nodegraph"
    if sys.platform == "win32":
        return (
            Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
            / "nodegraph"
            / "Cache"
        )
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(xdg) if os.path.isabs(xdg) else home / ".cache") / "nodegraph"


def models_dir() -> Path:
    return cache_root() / "models"


def downloads_dir() -> Path:
    return cache_root() / "downloads"


def check_name(name: str) -> str:
    """`name` when it can name a cached model (letters, digits, `.`, `_`, `-`; no path)."""
    if not NAME_PATTERN.fullmatch(name) or name in (".", ".."):
        raise ModelError(
            f"{name!r} cannot name a model: use letters, digits, '.', '_' and '-' (at most 100)"
        )
    return name


def model_path(name: str) -> Path:
    """Where the converted model `name` is (or would be) cached."""
    return models_dir() / f"{check_name(name)}.safetensors"


def is_cached(name: str) -> bool:
    return model_path(name).is_file()


def ensure_folders() -> None:
    for folder in (models_dir(), downloads_dir()):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ModelError(
                f"cannot create the model cache folder {folder} ({e.strerror or e}): "
                f"set {CACHE_ENV} to a writable folder"
            ) from None


def read_checksums() -> dict[str, dict]:
    """{key: {"sha256", "bytes", "url", "recorded"}}: what the first download of each file was."""
    path = models_dir() / CHECKSUMS_FILE
    if not path.exists():
        return {}
    try:
        data = parse_json(read_regular(path, MAX_CHECKSUMS_BYTES), str(path))
    except (OSError, ValueError) as e:
        raise ModelError(
            f"{path} is unreadable ({e}): fix or delete it (the next download records again)"
        ) from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ModelError(
            f"{path} is not a checksums file: delete it (the next download records again)"
        )
    return data


def record_checksum(key: str, sha256: str, nbytes: int, url: str) -> None:
    """Remembers `sha256` as the file `key` stands for (replacing an earlier record)."""
    ensure_folders()
    data = read_checksums()
    data[key] = {
        "sha256": sha256,
        "bytes": nbytes,
        "url": url,
        "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    atomic_write(models_dir() / CHECKSUMS_FILE, json.dumps(data, indent=1, sort_keys=True).encode())
