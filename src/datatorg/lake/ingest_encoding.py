"""Which text encoding a CSV file is in, and recoding it to UTF-8.

UTF-8 (with or without a byte-order mark) is read as it is. Anything else is recoded: the
encoding is chosen by ``charset-normalizer`` among the ones Norwegian files are saved in
(Windows-1252 from Excel on Windows, ISO-8859-1 and -15, Mac Roman), judged on the lines
that hold non-ASCII bytes, and the whole file is then decoded strictly with it. If that
fails further on, the next candidate is tried; ISO-8859-1 decodes any bytes, so the last
resort always succeeds. The report names the encoding that was actually used.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import charset_normalizer

# Python codec → the name a publisher knows it by.
NAMES = {
    "utf_8": "UTF-8",
    "utf_8_sig": "UTF-8 with BOM",
    "cp1252": "Windows-1252",
    "latin_1": "ISO-8859-1 (Latin-1)",
    "iso8859_15": "ISO-8859-15 (Latin-9)",
    "mac_roman": "Mac Roman",
}
CANDIDATES = ["cp1252", "iso8859_15", "mac_roman", "latin_1"]
SAMPLE_BYTES = 64 * 1024  # of lines with non-ASCII bytes, for the detector
_NON_ASCII_LINE = re.compile(rb"[^\n]*[\x80-\xff][^\n]*")


def label(codec: str) -> str:
    """The publisher-facing name of ``codec``."""
    return NAMES.get(codec, codec)


def _sample(path: Path) -> bytes:
    """Lines with non-ASCII bytes, up to ``SAMPLE_BYTES`` (the ASCII rest tells nothing)."""
    found = bytearray()
    with path.open("rb") as fh:
        tail = b""
        while len(found) < SAMPLE_BYTES and (chunk := fh.read(1 << 20)):
            chunk = tail + chunk
            cut = chunk.rfind(b"\n") + 1
            whole, tail = (chunk[:cut], chunk[cut:]) if cut else (b"", chunk)
            for m in _NON_ASCII_LINE.finditer(whole):
                found += m.group(0) + b"\n"
        if tail and len(found) < SAMPLE_BYTES and re.search(rb"[\x80-\xff]", tail):
            found += tail
    return bytes(found[: SAMPLE_BYTES * 2])


def detect(path: Path) -> list[str]:
    """The candidate codecs for ``path``, most likely first; ISO-8859-1 always last."""
    sample = _sample(path)
    best = None
    if sample:
        best = charset_normalizer.from_bytes(sample, cp_isolation=CANDIDATES).best()
    first = best.encoding if best is not None and best.encoding in CANDIDATES else "cp1252"
    rest = [c for c in CANDIDATES if c not in (first, "latin_1")]
    return list(dict.fromkeys([first, *rest, "latin_1"]))


def recode(source: Path, target: Path) -> str:
    """Write ``source`` as UTF-8 to ``target``; returns the codec it was decoded with."""
    *tries, last = detect(source)
    for codec in tries:
        try:
            _recode(source, target, codec)
        except UnicodeDecodeError:
            continue
        return codec
    _recode(source, target, last)  # ISO-8859-1 decodes any byte
    return last


def _recode(source: Path, target: Path, codec: str) -> None:
    decoder = codecs.getincrementaldecoder(codec)("strict")
    with source.open("rb") as src, target.open("w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(1 << 20):
            dst.write(decoder.decode(chunk))
        dst.write(decoder.decode(b"", final=True))
