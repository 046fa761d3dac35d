"""Receive a multipart upload as a stream, straight into a staging folder.

Starlette's own form parser spools every file to a temporary file with no size limit; this
parser writes the ``file`` part directly to the lake's staging folder, counts bytes as they
arrive and stops with 413 as soon as ``upload_max_bytes`` is passed. Small text fields
(``mode``, ``publish``, ``csrf_token``) are kept in memory, at most 64 KiB each.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from datatorg.errors import BadRequest, DatatorgError, PayloadTooLarge

MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 20


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
            raise BadRequest("Too many form parts")

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.header_field.lower()] = self.header_value
        self.header_field, self.header_value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.name = options.get(b"name", b"").decode("utf-8", "replace")
        raw_name = options.get(b"filename")
        self.filename = raw_name.decode("utf-8", "replace") if raw_name is not None else None
        if self.filename is not None and self.name == "file":
            if self.file_seen:
                raise BadRequest("Send one file per upload")
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
                raise PayloadTooLarge(f"The file is larger than {self.max_bytes} bytes")
            self.file.write(chunk)
        else:
            self.buffer += chunk
            if len(self.buffer) > MAX_FIELD_BYTES:
                raise PayloadTooLarge("A form field is too large")

    def on_part_end(self) -> None:
        if self.file is not None and self.name == "file" and self.filename is not None:
            self.file.close()
            self.file = None
        elif self.filename is None:
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
        raise PayloadTooLarge(f"The file is larger than {max_bytes} bytes")
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise BadRequest("Send the file as multipart/form-data in a field named 'file'")
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
    except Exception as exc:
        raise BadRequest(f"The upload was cut off or malformed ({type(exc).__name__})") from None
    finally:
        incomplete = state.file is not None
        if state.file is not None:
            state.file.close()
    if incomplete:
        raise BadRequest("The upload was cut off before the file ended")
    if not state.file_seen:
        if before_file is not None:
            before_file(state.fields)
        raise BadRequest("No file: send it in a multipart field named 'file'")
    if state.size == 0:
        raise BadRequest("The file is empty")
    return Received(
        path=folder / "source", filename=state.got_filename, size=state.size, fields=state.fields
    )
