"""Fetching one file over HTTP into the model cache: a `.part` file resumed with Range, the
size and sha256 checked, then renamed to its final name; every failure is one DownloadError."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .cache import ModelError

PART_SUFFIX = ".part"
MIRROR_HINT = "NODEGRAPH_MODEL_MIRROR to fetch from another server"
MAX_DOWNLOAD_BYTES = 8 * 2**30  # the published models are under 400 MB
CHUNK_BYTES = 1 << 16  # a cut keeps every whole chunk received before it
TIMEOUT_S = (15, 60)  # connect, and each read: a server that stalls is a failed download
Progress = Callable[[int, "int | None"], None]  # (bytes so far, total bytes or None)


class DownloadError(ModelError):
    """A download failed or was refused; what was received stays in the `.part` file only."""


class ChecksumMismatch(DownloadError):
    """The complete file's sha256 is not the expected one (the file was removed)."""

    def __init__(self, message: str, sha256: str) -> None:
        self.sha256 = sha256
        super().__init__(message)


@dataclass(frozen=True)
class Downloaded:
    path: Path
    sha256: str
    nbytes: int
    resumed_from: int  # bytes the `.part` file held before this request (0: a fresh download)


def short_hash(hex_digest: str) -> str:
    """The first 16 hex digits, enough to tell two files apart in a one-line message."""
    return hex_digest[:16] + "..."


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + PART_SUFFIX)


def sha256_of(path: Path, limit: int | None = None) -> hashlib._Hash:
    """A sha256 object fed with the first `limit` bytes of `path` (all when None)."""
    from nodegraph.readers import open_regular

    digest, left = hashlib.sha256(), limit
    with open_regular(path) as f:
        while left is None or left > 0:
            block = f.read(CHUNK_BYTES if left is None else min(CHUNK_BYTES, left))
            if not block:
                break
            digest.update(block)
            left = None if left is None else left - len(block)
    return digest


def download(
    url: str, dest: Path, expected_sha256: str | None = None, progress: Progress | None = None
) -> Downloaded:
    """Fetches `url` to `dest`. A `.part` file from an earlier cut download of the same URL is
    resumed (Range, with If-Range so a changed file restarts). `dest` appears only complete and,
    when `expected_sha256` is given, matching it; a wrong file is removed."""
    import requests

    part, meta_path = part_path(dest), dest.with_name(dest.name + PART_SUFFIX + ".json")
    start, meta = _resumable(part, meta_path, url)
    headers = {"User-Agent": "nodegraph-model-manager"}
    if start:
        headers["Range"] = f"bytes={start}-"
        if meta.get("validator"):
            headers["If-Range"] = meta["validator"]
    done, total, answered = start, None, False
    try:
        with requests.get(url, headers=headers, stream=True, timeout=TIMEOUT_S) as response:
            answered = True
            if response.status_code == 416 and start:  # nothing left to send: complete?
                return _already_complete(part, meta_path, dest, url, expected_sha256, start)
            start, total = _accept(response, url, start)
            validator = response.headers.get("ETag") or response.headers.get("Last-Modified")
            meta_path.write_text(json.dumps({"url": url, "validator": validator, "total": total}))
            digest = sha256_of(part, start) if start else hashlib.sha256()
            done = start
            # A connection closed early then ends the stream instead of raising inside a read,
            # which would drop the bytes of that read: the `.part` keeps all that arrived.
            response.raw.enforce_content_length = False
            with open(part, "r+b" if start else "wb") as f:
                f.seek(start)
                f.truncate()
                for block in response.iter_content(CHUNK_BYTES):
                    f.write(block)
                    digest.update(block)
                    done += len(block)
                    if done > (total or MAX_DOWNLOAD_BYTES):
                        raise DownloadError(
                            f"{url}: the server sent more than {total or MAX_DOWNLOAD_BYTES:,} bytes; refused"
                        )
                    if progress is not None:
                        progress(done, total)
                f.flush()
                os.fsync(f.fileno())
    except requests.RequestException as e:
        if not answered:
            raise DownloadError(
                f"{url}: {_reason(e)}; check the network and the URL, or set {MIRROR_HINT}"
            ) from None
        raise DownloadError(_stopped(url, done, total, _reason(e))) from None
    if total is not None and done != total:
        raise DownloadError(_stopped(url, done, total, "the connection closed early"))
    return _finish(part, meta_path, dest, url, digest.hexdigest(), done, start, expected_sha256)


def _resumable(part: Path, meta_path: Path, url: str) -> tuple[int, dict]:
    """(bytes to resume from, the part's recorded URL and validator); 0 when the `.part` file
    is absent or came from another URL."""
    try:
        meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        size = part.stat().st_size if part.is_file() else 0
    except (OSError, ValueError):
        return 0, {}
    if not isinstance(meta, dict) or meta.get("url") != url:
        return 0, {}
    return size, meta


def _accept(response, url: str, start: int) -> tuple[int, int | None]:
    """(the offset the body starts at, the file's total size or None), or DownloadError for an
    HTTP error."""
    code = response.status_code
    if code >= 400:
        hint = " (check the model name or the mirror's folder)" if code == 404 else ""
        raise DownloadError(f"{url}: the server answered HTTP {code} {response.reason}{hint}")
    length = response.headers.get("Content-Length")
    size = int(length) if length and length.isdigit() else None
    if code == 206 and start:
        first, _, total = (
            response.headers.get("Content-Range", "").removeprefix("bytes ").partition("/")
        )
        if first.split("-")[0] != str(start):
            raise DownloadError(
                f"{url}: the server resumed at the wrong place ({first}); delete {url.rsplit('/', 1)[-1]}.part in the cache and retry"
            )
        size = int(total) if total.isdigit() else (start + size if size is not None else None)
    elif code != 200:
        raise DownloadError(f"{url}: unexpected HTTP {code} {response.reason}")
    else:
        start = 0  # the whole file again: the server ignored Range, or the file changed
    if size is not None and size > MAX_DOWNLOAD_BYTES:
        raise DownloadError(
            f"{url}: the file is {size:,} bytes; the limit is {MAX_DOWNLOAD_BYTES:,}"
        )
    return start, size


def _already_complete(part, meta_path, dest, url, expected_sha256, size) -> Downloaded:
    recorded = json.loads(meta_path.read_text()).get("total")
    if recorded != size:
        part.unlink(missing_ok=True)
        meta_path.unlink(missing_ok=True)
        raise DownloadError(
            f"{url}: the server refused to resume the cut download; it was removed, run the same command again"
        )
    return _finish(
        part, meta_path, dest, url, sha256_of(part).hexdigest(), size, size, expected_sha256
    )


def _finish(part, meta_path, dest, url, digest, nbytes, start, expected_sha256) -> Downloaded:
    """Renames the verified `.part` file to `dest`; a wrong sha256 removes it."""
    if expected_sha256 is not None and digest != expected_sha256.lower():
        part.unlink(missing_ok=True)
        meta_path.unlink(missing_ok=True)
        raise ChecksumMismatch(
            f"{url}: the downloaded file's sha256 is {short_hash(digest)}, not the expected "
            f"{short_hash(expected_sha256.lower())}; it was removed",
            digest,
        )
    os.replace(part, dest)
    meta_path.unlink(missing_ok=True)
    return Downloaded(dest, digest, nbytes, start)


def _stopped(url: str, done: int, total: int | None, reason: str) -> str:
    of = f" of {total:,}" if total is not None else ""
    return (
        f"{url}: the download stopped after {done:,}{of} bytes ({reason}); "
        "run the same command again to resume from there"
    )


def _reason(error: Exception) -> str:
    """A short reason for a requests failure (its text nests urllib3's repr several deep)."""
    import requests

    kinds = (
        (requests.Timeout, "the server stopped answering"),
        (requests.exceptions.ChunkedEncodingError, "the connection broke mid-file"),
        (requests.exceptions.InvalidSchema, "not an http(s) URL"),
        (requests.ConnectionError, "cannot connect, or the connection broke"),
    )
    return next((why for kind, why in kinds if isinstance(error, kind)), type(error).__name__)
