"""A project embedded in a WebP's XMP chunk (nodegraph/webp_xmp.py): it round-trips, and a
hostile WebP is refused in one line before anything big is read or inflated."""

from __future__ import annotations

import base64
import io
import json
import struct
import zlib

import pytest
from PIL import Image

from nodegraph import Graph, ProjectError
from nodegraph.budgets import MAX_WEBP_CHUNKS, MAX_XMP_BYTES
from nodegraph.readers import InputRefused
from nodegraph.webp_xmp import project_xmp, read_project


def webp(xmp: bytes | None = None, frames: int = 2) -> bytes:
    images = [Image.new("RGB", (8, 8), (40 * i, 0, 0)) for i in range(frames)]
    buffer = io.BytesIO()
    kwargs = {"xmp": xmp} if xmp is not None else {}
    images[0].save(buffer, format="WEBP", save_all=True, append_images=images[1:], **kwargs)
    return buffer.getvalue()


def riff(*chunks: tuple[bytes, bytes]) -> bytes:
    body = b"WEBP" + b"".join(
        kind + struct.pack("<I", len(data)) + data + b"\0" * (len(data) & 1) for kind, data in chunks
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def packet(payload: bytes) -> bytes:
    return b"<x:xmpmeta><nodegraph:project>" + payload + b"</nodegraph:project></x:xmpmeta>"


def test_a_project_round_trips_through_the_xmp_chunk(tmp_path):
    text = '{"format": "nodegraph.project", "note": "<&\\u00e9>"}'
    path = tmp_path / "a.webp"
    path.write_bytes(webp(project_xmp(text, "anim")))
    assert read_project(path, 1 << 20) == text
    plain = tmp_path / "plain.webp"
    plain.write_bytes(webp())
    assert read_project(plain, 1 << 20) is None
    other = tmp_path / "other.webp"
    other.write_bytes(webp(b"<x:xmpmeta>someone else's XMP</x:xmpmeta>"))
    assert read_project(other, 1 << 20) is None


def test_a_graph_saved_in_a_webp_loads_with_no_permissions(reg, tmp_path):
    g = Graph(registry=reg)
    g.add("TConst", id="a")
    assert g.permissions.write_outside
    path = tmp_path / "g.webp"
    path.write_bytes(webp(project_xmp(json.dumps(g.to_json()))))
    again = Graph.load(path, registry=reg)
    assert "a" in again.nodes and again.path is None and not again.permissions.write_outside


HOSTILE = {
    "not base64": (lambda: riff((b"XMP ", packet(b"*** not base64 ***"))), "is not base64"),
    "not zlib": (lambda: riff((b"XMP ", packet(base64.b64encode(b"plain text")))), "cannot be decompressed"),
    "a bomb": (lambda: riff((b"XMP ", packet(base64.b64encode(zlib.compress(b" " * (2 << 20)))))), "over 1,048,576 bytes uncompressed"),
    "unclosed": (lambda: riff((b"XMP ", b"<nodegraph:project>abc")), "is not closed"),
    "an XMP chunk over the limit": (lambda: riff((b"VP8X", b"\0" * 10)) + b"XMP " + struct.pack("<I", MAX_XMP_BYTES + 1) + b"x", f"over {MAX_XMP_BYTES:,}, the limit"),
    "an XMP chunk past the end": (lambda: riff((b"VP8X", b"\0" * 10)) + b"XMP " + struct.pack("<I", 1000) + b"x", "runs past the end"),
    "too many chunks": (lambda: riff(*[(b"JUNK", b"")] * (MAX_WEBP_CHUNKS + 1)), f"more than {MAX_WEBP_CHUNKS:,} chunks"),
    "zero chunks": (lambda: riff() + b"\0" * 8 * (MAX_WEBP_CHUNKS + 1), f"more than {MAX_WEBP_CHUNKS:,} chunks"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_webp_is_refused_in_one_line(tmp_path, case):
    make, message = HOSTILE[case]
    path = tmp_path / "bad.webp"
    path.write_bytes(make())
    with pytest.raises(InputRefused, match=message):
        read_project(path, 1 << 20)
    with pytest.raises(ProjectError) as caught:  # the project limit is 64 MiB: the bomb
        Graph.load(path)  # inflates, then is no JSON
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)


def test_nodegraph_run_of_a_hostile_webp_exits_2_in_one_line(tmp_path, capsys):
    from nodegraph.cli import main

    path = tmp_path / "bad.webp"
    path.write_bytes(HOSTILE["not base64"][0]())
    assert main(["run", str(path), "--output-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "is not base64" in err and "\n" not in err and not (tmp_path / "out").exists()
