"""`nodegraph models list|get|path`: the published models, downloading one into the cache, and
where a cached one is. Each failure is one line; exit 0 ok, 1 a download failed, 2 refused."""

from __future__ import annotations

import argparse
import json
import sys

from . import cache
from .catalogue import MODELS
from .download import DownloadError
from .manager import MIRROR_ENV, cached_model_path, get_model

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2


def models_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="nodegraph models",
        description="The published StyleGAN models: list them, download one into the cache "
        f"({cache.CACHE_ENV}, else the user cache folder), print where one is.",
    )
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="every published model, and whether it is cached")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    get = sub.add_parser("get", help="download, verify and convert a model into the cache")
    get.add_argument(
        "model", help="a name from `nodegraph models list`, or an http(s) URL of a network pickle"
    )
    get.add_argument("--file", help="take this file (downloaded by hand) instead of downloading")
    get.add_argument("--name", help="the cache name for a URL (default: the file's name)")
    get.add_argument("--sha256", help="the file's expected sha256 (64 hex digits)")
    get.add_argument(
        "--accept-changed",
        action="store_true",
        help="accept a file whose sha256 differs from the one recorded at its first download, and record the new one",
    )
    get.add_argument(
        "--force", action="store_true", help="convert again even when the model is cached"
    )
    get.add_argument(
        "--keep-download",
        action="store_true",
        help="keep the downloaded pickle in the cache's downloads folder",
    )
    path = sub.add_parser("path", help="print the cached .safetensors path of a model")
    path.add_argument("model", help="a name from `nodegraph models list`")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return {"list": list_models, "get": get_one, "path": print_path}[args.action](args)


def describe_models() -> list[dict]:
    """Every catalogue entry as plain data, with `cached` and `path` (what `list --json` prints)."""
    rows = []
    for entry in MODELS:
        path = cache.model_path(entry.name)
        rows.append(dict(entry.to_dict(), cached=path.is_file(), path=str(path)))
    return rows


def list_models(args: argparse.Namespace) -> int:
    rows = describe_models()
    if args.json:
        print(json.dumps(rows, indent=1))
        return EXIT_OK
    print(f"{'name':<26} {'family':<27} {'H x W':<10} {'size':>8}  {'cached':<6}  source")
    for row in rows:
        source = row["url"] or "local file only (nodegraph models get NAME --file PATH)"
        print(
            f"{row['name']:<26} {row['family']:<27} {row['resolution']:<10} "
            f"{'~' + str(row['approx_mb']) + ' MB':>8}  {'yes' if row['cached'] else 'no':<6}  {source}"
        )
    print(
        f"cache: {cache.models_dir()}  (sizes are estimates; {MIRROR_ENV} replaces the source's base URL)"
    )
    return EXIT_OK


def get_one(args: argparse.Namespace) -> int:
    bar = DownloadBar()
    try:
        out = get_model(
            args.model, name=args.name, sha256=args.sha256, accept_changed=args.accept_changed,
            local_file=args.file, force=args.force, keep_source=args.keep_download, progress=bar,
        )  # fmt: skip
    except DownloadError as e:
        bar.close()
        return _error(e, EXIT_FAILED)
    except Exception as e:  # a refusal (name, checksum, unsafe pickle): one line, never a traceback
        bar.close()
        return _error(e, EXIT_REFUSED)
    bar.close()
    print(out)
    return EXIT_OK


def print_path(args: argparse.Namespace) -> int:
    try:
        print(cached_model_path(args.model))
    except cache.ModelError as e:
        return _error(e, EXIT_FAILED)
    return EXIT_OK


def _error(error: Exception, code: int) -> int:
    from nodegraph.cli import print_error
    from nodes.gan.checkpoint import CheckpointError

    if not isinstance(error, cache.ModelError | CheckpointError | OSError):
        error = cache.ModelError(f"{type(error).__name__}: {error}")
    print_error(error, "nodegraph models")
    return code


class DownloadBar:
    """A tqdm bar on stderr, made at the first progress call (which knows the total and where
    a resumed download starts)."""

    def __init__(self) -> None:
        self.bar = None

    def __call__(self, done: int, total: int | None) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total,
                initial=0,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                file=sys.stderr,
                leave=False,
                desc="download",
            )
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
