"""`get`, `path` and name resolution of the model manager: a catalogue name or a URL becomes a
verified download, converted by the restricted converter into a cached .safetensors file."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from . import cache
from .cache import ModelError
from .catalogue import MODELS, ModelEntry, find_model
from .download import ChecksumMismatch, Progress, download, sha256_of, short_hash

MIRROR_ENV = "NODEGRAPH_MODEL_MIRROR"
CHECKPOINT_SUFFIXES = (".safetensors", ".pkl", ".pt", ".pth")
SHA256_PATTERN = re.compile(r"[0-9a-fA-F]{64}")


class ModelNotCached(ModelError):
    """A model named by a project is not in the cache (and the run may not download it)."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"model {name!r} is not downloaded: run `nodegraph models get {name}`, or "
            "`nodegraph run --download` (a project never downloads by itself)"
        )


@dataclass(frozen=True)
class Source:
    """Where a model comes from: its cache name, URL (None: local file only), catalogue entry
    (None for a plain URL) and the key its first sha256 is recorded under."""

    name: str
    url: str | None
    entry: ModelEntry | None

    @property
    def key(self) -> str:
        if self.entry is not None:
            return self.name
        return f"url:{self.url}" if self.url else f"local:{self.name}"

    @property
    def file_name(self) -> str:
        if self.entry is not None:
            return self.entry.file
        return _safe_file_name(unquote(urlsplit(self.url or "").path.rsplit("/", 1)[-1]))


def mirror_base() -> str | None:
    """`$NODEGRAPH_MODEL_MIRROR` with one trailing slash, or None; it must be an http(s) URL."""
    base = os.environ.get(MIRROR_ENV, "").strip()
    if not base:
        return None
    if urlsplit(base).scheme not in ("http", "https"):
        raise ModelError(
            f"{MIRROR_ENV}={base!r} is not an http(s) URL: give the mirror's base URL, e.g. https://host/models/"
        )
    return base.rstrip("/") + "/"


def source_for(spec: str, name: str | None = None) -> Source:
    """The Source of `spec`, a catalogue name (or file name) or an http(s) URL. A mirror
    replaces the catalogue's base URL (it serves the files under their published names)."""
    if "://" in spec:
        if urlsplit(spec).scheme not in ("http", "https"):
            raise ModelError(
                f"{spec!r}: only http and https URLs are downloaded; for a file on disk use --file"
            )
        entry = next((m for m in MODELS if m.url == spec), None)
        stem = Source(name or "", spec, None).file_name.removesuffix(".pkl")
        return Source(cache.check_name(name or (entry.name if entry else stem)), spec, entry)
    entry = find_model(spec)
    if entry is None:
        raise ModelError(
            f"unknown model {spec!r}: `nodegraph models list` shows the names; a URL or --file PATH takes any other"
        )
    mirror = mirror_base()
    url = mirror + entry.file if mirror else entry.url
    return Source(cache.check_name(name or entry.name), url, entry)


def get_model(
    spec: str,
    *,
    name: str | None = None,
    sha256: str | None = None,
    accept_changed: bool = False,
    local_file: str | os.PathLike | None = None,
    force: bool = False,
    keep_source: bool = False,
    progress: Progress | None = None,
) -> Path:
    """The cached safetensors of `spec`, downloading (or taking `local_file`), verifying and
    converting it first unless it is cached (`force` converts again). The file's sha256 must be
    `sha256` when given, else the one recorded at its first download (`accept_changed` records
    the new one instead)."""
    from nodes.gan.convert import convert

    if local_file is not None and "://" not in spec and find_model(spec) is None:
        source = Source(cache.check_name(name or spec), None, None)  # the user's own model
    else:
        source = source_for(spec, name)
    out = cache.model_path(source.name)
    if out.is_file() and not force:
        return out
    if sha256 is not None and not SHA256_PATTERN.fullmatch(sha256):
        raise ModelError(f"--sha256 {sha256!r} is not 64 hexadecimal digits")
    recorded = cache.read_checksums().get(source.key)
    expected = (
        sha256.lower()
        if sha256
        else None
        if (accept_changed or not recorded)
        else recorded["sha256"]
    )
    cache.ensure_folders()
    if local_file is not None:
        src, downloaded = Path(local_file), False
        digest = _verified_local(src, expected, source, bool(sha256))
    else:
        try:
            src, digest = _fetch(source, expected, progress)
        except ChecksumMismatch as e:
            raise ChecksumMismatch(
                f"{e} {_mismatch_hint(source, recorded, bool(sha256))}", e.sha256
            ) from None
        downloaded = True
    if recorded is None or recorded["sha256"] != digest:
        cache.record_checksum(source.key, digest, src.stat().st_size, source.url or str(src))
    convert(src, out)
    if downloaded and not keep_source:
        src.unlink(missing_ok=True)
    return out


def model_reference(text: str) -> str | None:
    """The model name `text` stands for in a Generator's `checkpoint`, or None for a file path:
    a name has no folder and no checkpoint suffix and is in the catalogue or the cache."""
    if not text or any(sep in text for sep in "/\\") or text.lower().endswith(CHECKPOINT_SUFFIXES):
        return None
    entry = find_model(text)
    if entry is not None:
        return entry.name
    try:
        return text if cache.is_cached(text) else None
    except ModelError:
        return None


def cached_model_path(name: str) -> Path:
    """The cached safetensors of model `name`; ModelNotCached (saying the fix) when absent."""
    entry = find_model(name)
    path = cache.model_path(entry.name if entry else name)
    if not path.is_file():
        if entry is None and not cache.NAME_PATTERN.fullmatch(name):
            raise ModelError(f"unknown model {name!r}: `nodegraph models list` shows the names")
        raise ModelNotCached(entry.name if entry else name)
    return path


def _fetch(source: Source, expected: str | None, progress: Progress | None) -> tuple[Path, str]:
    if source.url is None:
        entry = source.entry
        raise ModelError(
            f"{source.name} has no direct download link: download {entry.file} by hand, then "
            f"`nodegraph models get {source.name} --file PATH` (or set {MIRROR_ENV})"
        )
    dest = cache.downloads_dir() / source.file_name
    if dest.is_file():  # complete and kept from an earlier get whose conversion failed
        digest = sha256_of(dest).hexdigest()
        if expected is None or digest == expected:
            return dest, digest
        dest.unlink()
    result = download(source.url, dest, expected, progress)
    return result.path, result.sha256


def _mismatch_hint(source: Source, recorded: dict | None, given: bool) -> str:
    if given:
        return "(the --sha256 you gave: check it, or the file on the server changed)"
    when = (
        f" on {recorded['recorded'][:10]}"
        if recorded and isinstance(recorded.get("recorded"), str)
        else ""
    )
    return (
        f"(the sha256 first recorded for {source.name}{when}: the file changed; "
        "pass --accept-changed if you trust the new one)"
    )


def _verified_local(path: Path, expected: str | None, source: Source, given: bool) -> str:
    try:
        digest = sha256_of(path).hexdigest()
    except FileNotFoundError:
        raise ModelError(f"--file {path}: no such file") from None
    except (OSError, ValueError) as e:
        raise ModelError(f"--file {path}: cannot read it ({e})") from None
    if expected is not None and digest != expected:
        hint = _mismatch_hint(source, cache.read_checksums().get(source.key), given)
        raise ChecksumMismatch(
            f"--file {path}: its sha256 is {short_hash(digest)}, not {short_hash(expected)} {hint}",
            digest,
        )
    return digest


def _safe_file_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".")[:100]
    return cleaned or "download.pkl"
