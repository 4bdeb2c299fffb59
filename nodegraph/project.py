"""Projects (SPEC §4): save and load a graph as JSON plus a safetensors sidecar, atomically.

Loading validates everything and raises ProjectError naming the file, node and field."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nodegraph.atomic import atomic_write
from nodegraph.budgets import MAX_LINKS, MAX_NODES, brief
from nodegraph.errors import GraphError, ProjectError
from nodegraph.graph import Graph
from nodegraph.node import coerce_param
from nodegraph.png_text import read_text
from nodegraph.readers import (
    MAX_PROJECT_BYTES,
    MAX_SIDECAR_BYTES,
    InputRefused,
    open_regular,
    parse_json,
    read_regular,
)
from nodegraph.serialise import (
    FORMAT,
    INLINE_ENCODING,
    TENSOR_REF,
    VERSION,
    encode_snapshot,
    tensor_bytes,
)
from nodegraph.trust import Permissions
from nodegraph.webp_xmp import project_xmp, read_project

if TYPE_CHECKING:
    from PIL.PngImagePlugin import PngInfo

    from nodegraph.registry import Registry

PNG_KEY = "nodegraph.project"
PNG_NODE_KEY = "nodegraph.node"

# MIGRATIONS[n] turns a version-n document into a version n + 1 one; add one per format change.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def sidecar_path(path: str | Path, digest: str) -> Path:
    """X.ngproj.json -> X.ngproj.<16 hex of the sha256>.safetensors. Named by its content, a new
    sidecar never replaces the one the saved JSON names, so the JSON's rename switches the pair."""
    return Path(path).with_name(f"{_stem(path)}.{digest[:16]}.safetensors")


def sidecar_of(path: str | Path) -> Path | None:
    """The sidecar file that the saved project at `path` names, or None when it has none."""
    entry = json.loads(Path(path).read_text()).get("sidecar")
    return Path(path).with_name(entry["file"]) if entry else None


def _stem(path: str | Path) -> str:
    name = Path(path).name
    return name[: -len(".json")] if name.endswith(".json") else name


# --- writing -------------------------------------------------------------------------------
def save(graph: Graph, path: str | Path) -> None:
    """Writes X.ngproj.json (and, when params hold tensors, the sidecar it names), so that a
    kill at any moment leaves the old pair or the new pair loadable: the new sidecar goes
    under a new name (sidecar_path), then the JSON is renamed over the old one, then the
    sidecars it no longer names are removed. A failed save raises ProjectError."""
    path = Path(path)
    try:
        data, tensors = encode_snapshot(graph.snapshot())
        blob = tensor_bytes(tensors) if tensors else None
        keep = None
        if blob is not None:
            digest = hashlib.sha256(blob).hexdigest()
            keep = sidecar_path(path, digest)
            data["sidecar"] = {"file": keep.name, "sha256": digest}
            if not _holds(keep, blob):
                atomic_write(keep, blob)
        text = json.dumps(data, indent=1, allow_nan=False) + "\n"
        atomic_write(path, text.encode())
        _remove_old_sidecars(path, keep)
    except Exception as exc:
        raise ProjectError(f"could not save: {type(exc).__name__}: {exc}", str(path)) from exc
    graph.path = str(path)
    graph.mark_clean()


def _holds(path: Path, blob: bytes) -> bool:
    try:
        return path.stat().st_size == len(blob) and path.read_bytes() == blob
    except OSError:
        return False


def _remove_old_sidecars(path: Path, keep: Path | None) -> None:
    """Sidecars of this project (X.ngproj.safetensors, X.ngproj.<hash>.safetensors, ours by their
    metadata) other than `keep`: left by earlier saves, or by a save that was killed."""
    pattern = re.compile(re.escape(_stem(path)) + r"(\.[0-9a-f]{16})?\.safetensors")
    for entry in os.scandir(path.parent):
        if pattern.fullmatch(entry.name) and (keep is None or entry.name != keep.name):
            if entry.is_file(follow_symlinks=False) and _is_our_sidecar(Path(entry.path)):
                Path(entry.path).unlink(missing_ok=True)


def _is_our_sidecar(path: Path) -> bool:
    """True for a safetensors file whose metadata says it holds a project's tensors."""
    try:
        with open(path, "rb") as f:
            size = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(size)) if size <= 1 << 20 else {}
        return (header.get("__metadata__") or {}).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


# --- reading -------------------------------------------------------------------------------
def load(path: str | Path, registry: Registry | None = None) -> Graph:
    """Reads a project file (or a PNG or WebP with an embedded project); any fault is a ProjectError."""
    path = Path(path)
    try:
        with open_regular(path) as f:
            head = f.read(12)
        if head[:8] == b"\x89PNG\r\n\x1a\n":
            return load_from_png(path, registry)
        image = _image_kind(head)
        if image == "a WebP image":
            text = read_project(path, MAX_PROJECT_BYTES)
            if text is not None:
                return _from_image(text, path, registry)
        if image is not None:
            raise ProjectError(
                f"is {image}, which carries no project (docs/PROJECTS.md, 'Animations'); "
                "open the .ngproj.json, a PNG that Export or ExportAnimation wrote, "
                "or an animated WebP that ExportAnimation wrote",
                str(path),
            )
        raw = read_regular(path, MAX_PROJECT_BYTES, "project file")
    except InputRefused as exc:
        raise ProjectError(str(exc), str(path)) from None
    except OSError as exc:
        raise ProjectError(f"cannot read: {exc.strerror or exc}", str(path)) from exc
    try:
        data = parse_json(raw.decode("utf-8"), "the project")
    except InputRefused as exc:
        raise ProjectError(str(exc), str(path)) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProjectError(f"not a valid JSON project: {exc}", str(path)) from None
    graph = _guarded(lambda: _build(data, str(path), registry, sidecar_dir=path.parent), str(path))
    graph.path = str(path)
    return graph


def _image_kind(head: bytes) -> str | None:
    """'a WebP image', 'a GIF image', 'an MP4 video' or 'a JPEG image' by the file's first bytes."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "a WebP image"
    if head[:4] == b"GIF8":
        return "a GIF image"
    if head[4:8] == b"ftyp":
        return "an MP4 video"
    if head[:3] == b"\xff\xd8\xff":
        return "a JPEG image"
    return None


def from_json(
    data: dict[str, Any] | str, registry: Registry | None = None, source: str = "<json>"
) -> Graph:
    """A graph from a project document (dict or JSON text), e.g. one embedded in a PNG."""
    if isinstance(data, str | bytes):
        try:
            data = parse_json(data, "the project")
        except InputRefused as exc:
            raise ProjectError(str(exc), source) from None
        except ValueError as exc:
            raise ProjectError(f"not a valid JSON project: {exc}", source) from None
    return _guarded(lambda: _build(data, source, registry, sidecar_dir=None), source)


def _guarded(build: Callable[[], Graph], source: str) -> Graph:
    try:
        return build()
    except ProjectError:
        raise
    except Exception as exc:  # a hostile file must still give one error type
        raise ProjectError(f"malformed project: {type(exc).__name__}: {exc}", source) from exc


def _build(data: Any, source: str, registry: Registry | None, sidecar_dir: Path | None) -> Graph:
    data = _migrate(_require_dict(data, source, None, "the document"), source)
    nodes = data.get("nodes")
    if not isinstance(nodes, list):
        raise ProjectError("must be a list of nodes", source, field="nodes")
    links = data.get("links", [])
    if not isinstance(links, list):
        raise ProjectError("must be a list of links", source, field="links")
    for what, items, limit in (("nodes", nodes, MAX_NODES), ("links", links, MAX_LINKS)):
        if len(items) > limit:
            raise ProjectError(
                f"the project has {len(items):,} {what}; the limit is {limit:,} "
                "(split it into several projects)",
                source,
                field=what,
            )
    tensors = _read_tensors(data, source, sidecar_dir)
    graph = Graph(registry=registry)
    graph.permissions = Permissions()  # a project file is someone else's data (trust rule)
    used: set[str] = set()
    for i, entry in enumerate(nodes):
        _add_node(graph, entry, i, tensors, used, source)
    for i, entry in enumerate(links):
        _add_link(graph, entry, i, source)
    unused = sorted(set(tensors) - used)
    if unused:
        raise ProjectError(
            f"tensors {unused} are not used by any node param", source, field="tensors"
        )
    meta = data.get("meta", {})
    graph.meta = dict(_require_dict(meta, source, None, "meta"))
    return graph


def _require_dict(value: Any, source: str, node: str | None, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ProjectError(f"must be an object, got {type(value).__name__}", source, node, field)
    return value


def _migrate(data: dict[str, Any], source: str) -> dict[str, Any]:
    if data.get("format") != FORMAT:
        raise ProjectError(
            f"format is {brief(data.get('format'))}, expected {FORMAT!r}", source, field="format"
        )
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ProjectError(
            f"version must be a positive integer, got {brief(version)}", source, field="version"
        )
    if version > VERSION:
        raise ProjectError(
            f"version {version} is newer than this nodegraph reads ({VERSION}); upgrade nodegraph",
            source,
            field="version",
        )
    while version < VERSION:
        if version not in MIGRATIONS:
            raise ProjectError(f"no migration from version {version}", source, field="version")
        data = MIGRATIONS[version](data)
        version += 1
    return data


def _read_tensors(data: dict[str, Any], source: str, sidecar_dir: Path | None) -> dict[str, Any]:
    from safetensors.torch import load as load_tensors

    if "tensors" in data:
        inline = _require_dict(data["tensors"], source, None, "tensors")
        if inline.get("encoding") != INLINE_ENCODING or not isinstance(inline.get("data"), str):
            raise ProjectError(
                f"expected {{'encoding': {INLINE_ENCODING!r}, 'data': str}}",
                source,
                field="tensors",
            )
        blob = _decode(lambda: base64.b64decode(inline["data"], validate=True), source, "tensors")
    elif "sidecar" in data:
        sidecar = _require_dict(data["sidecar"], source, None, "sidecar")
        name, digest = sidecar.get("file"), sidecar.get("sha256")
        if not isinstance(name, str) or not isinstance(digest, str) or Path(name).name != name:
            raise ProjectError(
                "needs a file name (in the project's folder) and its sha256",
                source,
                field="sidecar",
            )
        if sidecar_dir is None:
            raise ProjectError(
                "a project with a sidecar file must be loaded from its file",
                source,
                field="sidecar",
            )
        try:
            blob = read_regular(sidecar_dir / name, MAX_SIDECAR_BYTES, "tensor file")
        except InputRefused as exc:
            raise ProjectError(str(exc), source, field="sidecar") from None
        except OSError as exc:
            raise ProjectError(
                f"cannot read tensor file {name}: {exc.strerror or exc}", source, field="sidecar"
            ) from None
        if hashlib.sha256(blob).hexdigest() != digest:
            raise ProjectError(
                f"tensor file {name} does not match this project (sha256 differs)",
                source,
                field="sidecar",
            )
    else:
        return {}
    return _decode(lambda: load_tensors(blob), source, "tensors")


def _decode(fn: Callable[[], Any], source: str, field: str) -> Any:
    try:
        return fn()
    except Exception as exc:
        raise ProjectError(f"cannot decode: {exc}", source, field=field) from None


def _add_node(
    graph: Graph, entry: Any, i: int, tensors: dict[str, Any], used: set[str], source: str
) -> None:
    entry = _require_dict(entry, source, None, f"nodes[{i}]")
    try:
        node_id = graph.store.check_new_id(entry.get("id"))
    except GraphError as exc:
        raise ProjectError(str(exc), source, field=f"nodes[{i}].id") from None
    type_name = entry.get("type")
    if not isinstance(type_name, str):
        raise ProjectError("type must be a string", source, node_id, "type")
    try:
        cls = graph.registry.get(type_name)
    except GraphError as exc:
        raise ProjectError(str(exc), source, node_id, "type") from None
    params = cls.default_params()
    for name, value in _require_dict(entry.get("params", {}), source, node_id, "params").items():
        decl = cls.param(name)
        if decl is None:
            raise ProjectError(
                f"{cls.type_name} has no such param; its params: {[p.name for p in cls.params]}",
                source,
                node_id,
                f"params.{name}",
            )
        if decl.type == "tensor" and isinstance(value, dict):
            key = value.get(TENSOR_REF)
            if not isinstance(key, str) or key not in tensors:
                raise ProjectError(
                    f"tensor reference {brief(value)} is not in the project's tensors",
                    source,
                    node_id,
                    f"params.{name}",
                )
            value = tensors[key]
            used.add(key)
        try:
            params[name] = coerce_param(decl, value)
        except ValueError as exc:
            raise ProjectError(str(exc), source, node_id, f"params.{name}") from None
    try:
        params = cls.check_params(node_id, {}, base=params)  # the type's validate hook
    except GraphError as exc:
        raise ProjectError(str(exc), source, node_id, "params") from None
    pos = entry.get("pos", [0.0, 0.0])
    if not isinstance(pos, list) or len(pos) != 2 or not all(_is_number(v) for v in pos):
        raise ProjectError(f"must be [x, y], got {brief(pos)}", source, node_id, "pos")
    graph.store.insert_node(node_id, cls, params, (float(pos[0]), float(pos[1])))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _add_link(graph: Graph, entry: Any, i: int, source: str) -> None:
    entry = _require_dict(entry, source, None, f"links[{i}]")
    ends = [entry.get("from"), entry.get("to")]
    if not all(
        isinstance(e, list) and len(e) == 2 and all(isinstance(s, str) for s in e) for e in ends
    ):
        raise ProjectError(
            'must be {"from": [node, port], "to": [node, port]}', source, field=f"links[{i}]"
        )
    (src, output), (dst, input_) = ends
    try:
        link = graph.store.check_link(src, output, dst, input_)
    except GraphError as exc:
        raise ProjectError(str(exc), source, dst if dst in graph else None, f"links[{i}]") from None
    graph.store.link(link)


# --- PNG -----------------------------------------------------------------------------------
def project_pnginfo(project: dict[str, Any], node_id: str | None = None) -> PngInfo:
    """PNG text chunks that embed a project (compressed), for Export: `img.save(p, pnginfo=...)`."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(PNG_KEY, json.dumps(project, separators=(",", ":")), zip=True)
    if node_id is not None:
        info.add_text(PNG_NODE_KEY, str(node_id))
    return info


def load_from_png(path: str | Path, registry: Registry | None = None) -> Graph:
    """Reopens the project embedded in a PNG that Export wrote; relative paths resolve next to the PNG."""
    path = Path(path)
    try:
        text = read_text(path, {PNG_KEY}, MAX_PROJECT_BYTES)
    except InputRefused as exc:
        raise ProjectError(str(exc), str(path)) from None
    except OSError as exc:
        raise ProjectError(f"cannot read as a PNG: {exc.strerror or exc}", str(path)) from None
    if PNG_KEY not in text:
        raise ProjectError(
            f"the image has no embedded project (PNG text chunk {PNG_KEY!r})", str(path)
        )
    return _from_image(text[PNG_KEY], path, registry)


def _from_image(text: str, path: Path, registry: Registry | None) -> Graph:
    """The project embedded in an image (PNG or WebP) as a graph with no permissions (a graph
    from a file starts with none: the trust rule); relative paths resolve next to the image."""
    graph = from_json(text, registry, source=str(path))
    graph.base_dir = str(path.resolve().parent)
    return graph


# --- WebP ----------------------------------------------------------------------------------
def project_webp_xmp(project: dict[str, Any], node_id: str | None = None) -> bytes:
    """The XMP packet that embeds a project in a WebP (nodegraph/webp_xmp.py), for
    ExportAnimation: `img.save(p, format="WEBP", xmp=...)`."""
    return project_xmp(json.dumps(project, separators=(",", ":")), node_id)
