"""Every budget a reader or parser of someone else's data works within (docs/PROJECTS.md, "Limits"),
in one place, and `cap`, the one helper that bounds a message quoting such data."""

from __future__ import annotations

import re
import reprlib
from typing import Any

# --- messages ---------------------------------------------------------------------------------
MAX_LINE_CHARS = 299  # a printed error line, "nodegraph: error: " included: under 300
MAX_MESSAGE_CHARS = 1000  # the message of one of our exceptions; cap() elides the middle

# --- project documents (nodegraph/readers.py, nodegraph/project.py) ---------------------------
MAX_PROJECT_BYTES = 64 * 1024**2  # a project's JSON, also when embedded in a PNG
MAX_SIDECAR_BYTES = 1024**3  # a project's tensor file
MAX_JSON_DEPTH = 64  # nesting of objects and lists in a project
MAX_JSON_CONTAINERS = 1_000_000  # objects and lists of one document, counted before parsing
MAX_JSON_VALUES = 4_000_000  # values of one document (members and items), counted before parsing
MAX_NODES = 1_000  # nodes of one project
MAX_LINKS = 4_000  # links of one project

# --- trajectory files (nodes/trajectory_file.py) ---------------------------------------------
# The largest trajectory of a real model fits: 256 frames (nodes/trajectory.py MAX_FRAMES) of an
# 18 x 512 W+ (1024 px StyleGAN2) as float32, 257 codes = 9,474,048 bytes; steps and stages
# 4,096; 256 point pairs' handles, targets and distances 1,310,720; 256 stages' 128 x 128 masks
# 4,194,304 and their pair counts 2,048: 14,985,216 bytes and a header of under 2 KiB.
MAX_TRAJECTORY_BYTES = 16 * 1024**2
MAX_TRAJECTORY_HEADER_BYTES = 64 * 1024  # its JSON header (nine tensors and the metadata: ~1 KiB)

# --- PNG chunks (nodegraph/png_text.py) --------------------------------------------------------
MAX_PNG_CHUNKS = 100_000  # chunks looked at before the text we want (a 4096^2 PNG has ~2,000)

# --- WebP chunks (nodegraph/webp_xmp.py) --------------------------------------------------------
MAX_WEBP_CHUNKS = 100_000  # RIFF chunks looked at before the XMP (a 256-frame film has ~260)
# The XMP packet: a project's JSON (at most MAX_PROJECT_BYTES) zlib-compressed then base64
# (4/3; compression never adds more than a few bytes a 16 KiB block), plus the packet's own text.
MAX_XMP_BYTES = MAX_PROJECT_BYTES * 4 // 3 + 64 * 1024

# --- checkpoints (nodes/gan/load_budget.py) ----------------------------------------------------
MAX_ARRAY_ELEMENTS = 1_000_000  # numpy arrays one pickle declares by shape alone (real ones: 0)
MAX_TENSOR_ELEMENTS = 1 << 29  # tensor storages of one checkpoint together (2 GiB of float32)
MAX_PICKLE_RECORD_BYTES = 64 * 1024**2  # a torch zip's data.pkl, uncompressed
MAX_ZIP_ENTRIES = 100_000  # entries of one torch zip (a generator's has a few hundred)

_brief = reprlib.Repr()
_brief.maxstring = _brief.maxother = 120
_brief.maxlist = _brief.maxtuple = _brief.maxdict = _brief.maxset = 8
_brief.maxlevel = 3


def cap(text: Any, limit: int = MAX_MESSAGE_CHARS) -> str:
    """`text` of at most `limit` characters: longer text keeps its start and end (where a
    message names the file and the fix) and says how much of the middle was left out."""
    text = str(text)
    if len(text) <= limit:
        return text
    # Long words first (temporary paths, a hostile 20 MB name): the sentence around them, which
    # says what is wrong and the fix, stays readable.
    text = _LONG_WORD.sub(lambda word: _shorten_word(word.group()), text)
    if len(text) <= limit:
        return text
    marker = f" ...[{len(text):,} chars, middle left out]... "
    keep = max(limit - len(marker), 2)
    return text[: keep - keep // 3] + marker + text[len(text) - keep // 3 :]


_LONG_WORD = re.compile(r"\S{51,}")


def _shorten_word(word: str) -> str:
    """A word of over 51 characters as its first and last 24 around '...'."""
    return word[:24] + "..." + word[-24:]


def brief(value: Any) -> str:
    """repr(value) for a message, bounded without building the whole repr of a huge value."""
    return cap(_brief.repr(value), 160)
