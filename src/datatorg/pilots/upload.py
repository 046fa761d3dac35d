"""Receive a small multipart upload (a report) in memory, refusing it as soon as it is too big.

Starlette's form parser spools files to disk without a limit; reports are small, so the body
is read here with a hard cap (the report limit plus room for the text fields) and parsed in
memory. The text fields (``title``, ``csrf_token``) are at most 64 KiB each.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from datatorg.errors import BadRequest, Forbidden, PayloadTooLarge
from datatorg.web import csrf
from datatorg.web.i18n import gettext as _

FIELD_ROOM = 64 * 1024
MAX_PARTS = 10


@dataclass
class Received:
    fields: dict[str, str] = field(default_factory=dict)
    filename: str = ""
    content: bytes = b""
    has_file: bool = False


async def receive(request: Request, max_bytes: int) -> Received:
    """The multipart body's text fields and its one ``file`` part."""
    limit = max_bytes + FIELD_ROOM
    too_big = PayloadTooLarge(_("A report may be at most {mb} MB.").format(mb=max_bytes // 2**20))
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise too_big
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise BadRequest(_("Send the report as multipart/form-data with a field named file."))
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_big
    out = Received()
    parts: list[dict[str, object]] = []
    cur: dict[str, object] = {}
    header = [b"", b""]

    def on_part_begin() -> None:
        cur.clear()
        cur.update({"headers": {}, "data": bytearray()})
        if len(parts) >= MAX_PARTS:
            raise BadRequest(_("Too many form fields."))

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header[0] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header[1] += data[start:end]

    def on_header_end() -> None:
        headers = cur["headers"]
        assert isinstance(headers, dict)
        headers[header[0].lower()] = header[1]
        header[0], header[1] = b"", b""

    def on_part_data(data: bytes, start: int, end: int) -> None:
        buf = cur["data"]
        assert isinstance(buf, bytearray)
        buf += data[start:end]

    def on_part_end() -> None:
        parts.append(dict(cur))

    parser = MultipartParser(
        params[b"boundary"],
        {
            "on_part_begin": on_part_begin,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
        },
    )
    try:
        parser.write(bytes(body))
        parser.finalize()
    except (BadRequest, PayloadTooLarge):
        raise
    except Exception:
        raise BadRequest(_("The upload was cut off or malformed.")) from None
    for part in parts:
        headers = part["headers"]
        data = part["data"]
        assert isinstance(headers, dict) and isinstance(data, bytearray)
        _kind, options = parse_options_header(headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is not None and name == "file":
            if out.has_file:
                raise BadRequest(_("Send one file at a time."))
            out.has_file, out.filename, out.content = (
                True,
                filename.decode("utf-8", "replace"),
                bytes(data),
            )
            if len(out.content) > max_bytes:
                raise too_big
        elif filename is None:
            if len(data) > FIELD_ROOM:
                raise PayloadTooLarge(_("A form field is too large."))
            out.fields[name] = data.decode("utf-8", "replace")
    return out


def check_form_csrf(request: Request, received: Received) -> None:
    """The CSRF check of a form that was read here (``verify_csrf`` would read it again)."""
    cookie = request.cookies.get(csrf.CSRF_COOKIE, "")
    sent = received.fields.get(csrf.CSRF_FIELD, "") or request.headers.get(csrf.CSRF_HEADER, "")
    secret = request.app.state.settings.secret_key.get_secret_value()
    if not (cookie and sent and hmac.compare_digest(cookie, sent)) or not csrf.is_well_signed(
        secret, cookie
    ):
        raise Forbidden(_("The form has expired or did not come from this site. Reload and retry."))
