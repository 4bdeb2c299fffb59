"""A project embedded in a WebP's XMP chunk: written by ExportAnimation's animated WebP, read
straight from the file's RIFF chunks and bounded by our limits (no XML parser: the project is
one element of our own namespace, zlib-compressed and base64-encoded, found by its tags).
"""

from __future__ import annotations

import base64
import binascii
import os
import struct

from nodegraph.budgets import MAX_WEBP_CHUNKS, MAX_XMP_BYTES
from nodegraph.png_text import inflate
from nodegraph.readers import InputRefused, open_regular

NAMESPACE = "urn:nodegraph:project:1"
PROJECT_TAG = b"nodegraph:project"
NODE_TAG = b"nodegraph:node"
_XMP = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
    ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
    f'  <rdf:Description rdf:about="" xmlns:nodegraph="{NAMESPACE}">\n'
    "   <nodegraph:encoding>zlib+base64</nodegraph:encoding>\n"
    "   <nodegraph:node>{node}</nodegraph:node>\n"
    "   <nodegraph:project>{project}</nodegraph:project>\n"
    "  </rdf:Description>\n"
    " </rdf:RDF>\n"
    "</x:xmpmeta>\n"
    '<?xpacket end="w"?>'
)


def project_xmp(project_json: str, node_id: str | None = None) -> bytes:
    """The XMP packet carrying `project_json` (compressed, base64) and the writing node's id
    (base64 too, so no text of the project needs XML escaping)."""
    import zlib

    packed = base64.b64encode(zlib.compress(project_json.encode("utf-8"), 9)).decode("ascii")
    node = base64.b64encode(str(node_id or "").encode("utf-8")).decode("ascii")
    return _XMP.format(node=node, project=packed).encode("utf-8")


def read_project(path: str | os.PathLike, limit: int) -> str | None:
    """The project text embedded in the WebP at `path` (at most `limit` bytes decompressed), or
    None when the file has no XMP chunk or its XMP holds no nodegraph project. InputRefused for a
    file that is not a RIFF WebP, more than MAX_WEBP_CHUNKS chunks, an XMP chunk over
    MAX_XMP_BYTES, or a project element that is not base64 of zlib data within `limit`."""
    where = os.fspath(path)
    xmp = _xmp_chunk(path, where)
    if xmp is None:
        return None
    start_tag, end_tag = b"<" + PROJECT_TAG + b">", b"</" + PROJECT_TAG + b">"
    start = xmp.find(start_tag)
    if start < 0:
        return None
    end = xmp.find(end_tag, start)
    if end < 0:
        raise InputRefused(f"{where}: the XMP project element is not closed")
    text = xmp[start + len(start_tag) : end].strip()
    try:
        packed = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InputRefused(f"{where}: the XMP project element is not base64") from None
    raw = inflate(packed, limit, f"{where}: the XMP project")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputRefused(f"{where}: the XMP project is not UTF-8 text") from None


def _xmp_chunk(path: str | os.PathLike, where: str) -> bytes | None:
    """The payload of the first 'XMP ' chunk; image chunks are skipped, not read."""
    with open_regular(path) as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WEBP":
            raise InputRefused(f"{where} is not a WebP file")
        chunks = 0
        while True:
            header = f.read(8)
            if len(header) < 8:
                return None  # the end (or a file cut short after its last whole chunk)
            kind, length = struct.unpack("<4sI", header)
            chunks += 1
            if chunks > MAX_WEBP_CHUNKS:
                raise InputRefused(
                    f"{where} has more than {MAX_WEBP_CHUNKS:,} chunks before its XMP; "
                    "this is not a WebP nodegraph reads"
                )
            if kind != b"XMP ":
                f.seek(length + (length & 1), os.SEEK_CUR)
                continue
            if length > MAX_XMP_BYTES:
                raise InputRefused(
                    f"{where}: its XMP chunk is {length:,} bytes, over {MAX_XMP_BYTES:,}, the limit"
                )
            if f.tell() + length > size:
                raise InputRefused(f"{where} is a damaged WebP: its XMP chunk runs past the end")
            return f.read(length)
