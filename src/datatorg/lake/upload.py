"""Receive a multipart upload as a stream, straight into a staging folder.

Starlette's own form parser spools every file to a temporary file with no size limit; this
parser writes the ``file`` part directly to the lake's staging folder, counts bytes as they
arrive and stops with 413 as soon as ``upload_max_bytes`` is passed. Small text fields
(``mode``, ``publish``, ``csrf_token``) are kept in memory, at most 64 KiB each.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from datatorg.errors import BadRequest, DatatorgError, Invalid, PayloadTooLarge
from datatorg.web.i18n import gettext as _

MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 20


def too_large(max_bytes: int) -> str:
    """The refusal of a file over the size limit, in words."""
    return _("The file is larger than the limit of %(size)s.") % {"size": size_label(max_bytes)}


def size_label(n: int) -> str:
    """``n`` bytes as people write it: 2 GiB, 64 KiB, 500 bytes."""
    for unit, power in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << power:
            return f"{n / (1 << power):.3g} {unit}"
    return f"{n} bytes"


# The form fields an upload may carry, besides the file; anything else is refused.
API_FIELDS = frozenset({"mode", "publish"})
PAGE_FIELDS = frozenset({"mode", "csrf_token"})
MODES = ("replace", "append")
PUBLISH = {"true": True, "false": False}


def read_options(
    fields: dict[str, str], query: Mapping[str, str], *, allowed: frozenset[str]
) -> tuple[str, bool]:
    """The upload's ``mode`` and ``publish`` from its form fields (or, for the API, the query
    string), checked strictly: unknown fields and values other than the documented ones are
    refused with every problem named."""
    errors: list[dict[str, str]] = []
    for name in sorted(set(fields) - allowed):
        message = _("This form field is not known; send only %(known)s.") % {
            "known": ", ".join(sorted(allowed | {"file"}))
        }
        errors.append({"code": "unknown_field", "field": name[:60], "message": message})
    values: dict[str, str] = {}
    for name in ("mode", "publish"):
        given = [v for v in (fields.get(name), query.get(name)) if v is not None]
        if name in allowed and given:
            if len(set(given)) > 1:
                message = _("Give this field once (in the form or in the address, not both).")
                errors.append({"code": "repeated_field", "field": name, "message": message})
            values[name] = given[0]
    mode = values.get("mode", "replace")
    if mode not in MODES:
        message = _("Choose replace or append.")
        errors.append({"code": "bad_value", "field": "mode", "message": message})
    publish = values.get("publish", "true")
    if publish not in PUBLISH:
        message = _("Choose true (publish at once) or false (review first).")
        errors.append({"code": "bad_value", "field": "publish", "message": message})
    if errors:
        raise Invalid(_("Some form fields are not valid; nothing was stored."), errors=errors)
    return mode, PUBLISH[publish]


@dataclass
class Received:
    path: Path
    filename: str
    size: int
    fields: dict[str, str] = field(default_factory=dict)


FieldCheck = Callable[[dict[str, str]], None]


class _State:
    def __init__(self, folder: Path, max_bytes: int, before_file: FieldCheck | None) -> None:
        self.before_file = before_file
        self.folder = folder
        self.max_bytes = max_bytes
        self.headers: dict[bytes, bytes] = {}
        self.header_field = b""
        self.header_value = b""
        self.name = ""
        self.filename: str | None = None
        self.file: IO[bytes] | None = None
        self.file_seen = False
        self.buffer = bytearray()
        self.size = 0
        self.parts = 0
        self.fields: dict[str, str] = {}
        self.error: Exception | None = None
        self.got_filename = ""

    def on_part_begin(self) -> None:
        self.headers, self.buffer = {}, bytearray()
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise BadRequest(_("The form has too many parts."))

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.header_field.lower()] = self.header_value
        self.header_field, self.header_value = b"", b""

    def on_headers_finished(self) -> None:
        _disposition, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.name = options.get(b"name", b"").decode("utf-8", "replace")
        raw_name = options.get(b"filename")
        self.filename = raw_name.decode("utf-8", "replace") if raw_name is not None else None
        if self.filename is not None and self.name == "file":
            if self.file_seen:
                raise BadRequest(_("Send one file per upload."))
            if self.before_file is not None:
                self.before_file(self.fields)  # CSRF and rights, before a byte of the file
            self.file_seen = True
            self.got_filename = self.filename
            self.file = (self.folder / "source").open("wb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self.file is not None and self.name == "file" and self.filename is not None:
            self.size += len(chunk)
            if self.size > self.max_bytes:
                raise PayloadTooLarge(too_large(self.max_bytes))
            self.file.write(chunk)
        else:
            self.buffer += chunk
            if len(self.buffer) > MAX_FIELD_BYTES:
                raise PayloadTooLarge(_("A form field is too large."))

    def on_part_end(self) -> None:
        if self.file is not None and self.name == "file" and self.filename is not None:
            self.file.close()
            self.file = None
        elif self.filename is None:
            if self.name in self.fields:
                raise BadRequest(
                    _("The form field %(name)s was sent twice.") % {"name": repr(self.name[:40])}
                )
            self.fields[self.name] = self.buffer.decode("utf-8", "replace")


async def receive(
    request: Request, folder: Path, max_bytes: int, before_file: FieldCheck | None = None
) -> Received:
    """Stream the multipart body of ``request`` into ``folder``; remove it on any error.

    ``before_file`` sees the text fields sent before the file part (the form puts its CSRF
    token first) and may refuse the upload before any of the file is read.
    """
    try:
        return await _receive(request, folder, max_bytes, before_file)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


async def _receive(
    request: Request, folder: Path, max_bytes: int, before_file: FieldCheck | None
) -> Received:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_bytes + MAX_FIELD_BYTES * MAX_PARTS:
        raise PayloadTooLarge(too_large(max_bytes))
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise BadRequest(_("Send the file as multipart/form-data in a field named 'file'."))
    state = _State(folder, max_bytes, before_file)
    parser = MultipartParser(
        params[b"boundary"],
        {
            "on_part_begin": state.on_part_begin,
            "on_part_data": state.on_part_data,
            "on_part_end": state.on_part_end,
            "on_header_field": state.on_header_field,
            "on_header_value": state.on_header_value,
            "on_header_end": state.on_header_end,
            "on_headers_finished": state.on_headers_finished,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except DatatorgError:
        raise
    except Exception:  # the parser's own words are not shown
        raise BadRequest(_("The upload was cut off or is not a well-formed form.")) from None
    finally:
        incomplete = state.file is not None
        if state.file is not None:
            state.file.close()
    if incomplete:
        raise BadRequest(_("The upload was cut off before the file ended."))
    if not state.file_seen:
        if before_file is not None:
            before_file(state.fields)
        raise BadRequest(_("No file: send it in a form field named 'file'."))
    if state.size == 0:
        raise BadRequest(_("The file is empty."))
    return Received(
        path=folder / "source", filename=state.got_filename, size=state.size, fields=state.fields
    )
