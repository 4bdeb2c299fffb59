"""PNG text chunks (tEXt, zTXt, iTXt) read straight from the file and bounded by our limits, not
Pillow's: an embedded project of any allowed size, and Export's "written by nodegraph" marker."""

from __future__ import annotations

import os
import struct
import zlib

from nodegraph.budgets import MAX_PNG_CHUNKS
from nodegraph.readers import InputRefused, open_regular

SIGNATURE = b"\x89PNG\r\n\x1a\n"
TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")
MAX_KEYWORD = 79  # PNG spec: keywords are 1-79 bytes


def read_text(path: str | os.PathLike, keys: set[str], limit: int) -> dict[str, str]:
    """The text of the first chunk for each of `keys` (decompressed, at most `limit` bytes each).
    Only those chunks are read; image data is skipped. InputRefused for a damaged PNG (a chunk
    type that is not four letters, a chunk running past the end of the file), a text over the
    limit or more than MAX_PNG_CHUNKS chunks; a key that is absent is simply not in the result."""
    found: dict[str, str] = {}
    where = os.fspath(path)
    with open_regular(path) as f:
        size = os.fstat(f.fileno()).st_size
        if f.read(len(SIGNATURE)) != SIGNATURE:
            raise InputRefused(f"{where} is not a PNG file")
        chunks = 0
        while len(found) < len(keys):
            header = f.read(8)
            if len(header) < 8:
                break  # truncated after the last complete chunk: use what was read
            length, kind = struct.unpack(">I4s", header)
            if kind == b"IEND":
                break
            chunks += 1
            if chunks > MAX_PNG_CHUNKS:
                raise InputRefused(
                    f"{where} has more than {MAX_PNG_CHUNKS:,} chunks before its text; "
                    "this is not a PNG nodegraph reads"
                )
            if not kind.isalpha():
                raise InputRefused(
                    f"{where} is a damaged PNG: chunk {chunks} has type {kind!r}, not four letters"
                )
            if f.tell() + length + 4 > size and kind not in TEXT_CHUNKS:
                break  # an image chunk cut short: the file ends here
            if kind not in TEXT_CHUNKS:
                f.seek(length + 4, os.SEEK_CUR)
                continue
            head = f.read(min(length, MAX_KEYWORD + 1))
            key = head.split(b"\0", 1)[0].decode("latin-1")
            if key not in keys or key in found:
                f.seek(length - len(head) + 4, os.SEEK_CUR)
                continue
            if length > limit + 1024:  # compressed text is never much larger than the text
                raise InputRefused(
                    f"{where}: text chunk {key!r} is over {limit:,} bytes, the limit"
                )
            data = head + f.read(length - len(head))
            crc = f.read(4)
            if len(data) < length or struct.unpack(">I", crc.ljust(4, b"\0"))[0] != zlib.crc32(
                kind + data
            ):
                raise InputRefused(f"{where}: text chunk {key!r} is damaged (CRC mismatch)")
            found[key] = _decode(kind, data, limit, f"{where}: text chunk {key!r}")
    return found


def _decode(kind: bytes, data: bytes, limit: int, where: str) -> str:
    keyword, _, rest = data.partition(b"\0")
    if kind == b"tEXt":
        return rest.decode("latin-1")
    if kind == b"zTXt":
        return inflate(rest[1:], limit, where).decode("latin-1")
    compressed, rest = rest[:1] == b"\1", rest[2:]  # iTXt: flag, method, language\0, key\0, text
    _language, _, rest = rest.partition(b"\0")
    _translated, _, text = rest.partition(b"\0")
    raw = inflate(text, limit, where) if compressed else text
    return raw.decode("utf-8", errors="replace")


def inflate(data: bytes, limit: int, where: str) -> bytes:
    """zlib decompression that stops past `limit` bytes (a small chunk can inflate to gigabytes)."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise InputRefused(f"{where} cannot be decompressed ({exc})") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise InputRefused(f"{where} is over {limit:,} bytes uncompressed, the limit")
    return out
