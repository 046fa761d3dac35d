"""A pilot's results: the final evaluation (scale up, iterate, stop), lessons, and reports.

Reports are small files kept in the control plane. A file is accepted only when its name's
extension is on the list below *and* its first bytes are what that type starts with (a PDF
named ``.pdf`` that is really an executable is refused); names are cut down to a safe
base name (no folders, no control characters, at most 120 characters).
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import uuid
import zipfile
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatorg.audit import service as audit
from datatorg.db.base import utcnow
from datatorg.errors import Conflict, Forbidden, Invalid, NotFound, PayloadTooLarge
from datatorg.identity.actor import Actor
from datatorg.pilots import policies
from datatorg.pilots.common import notify
from datatorg.pilots.models import Pilot, PilotState, Report, Result
from datatorg.pilots.pilot_schemas import ResultCreate
from datatorg.pilots.pilots import event, get_pilot, team_ids
from datatorg.pilots.vocab import N_
from datatorg.settings import Settings
from datatorg.web.i18n import gettext as _

TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "odt": "application/vnd.oasis.opendocument.text",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
}
MAX_NAME = 120
_UNSAFE = re.compile(r"[^\w .()+-]", re.UNICODE)


def conclude(
    *,
    session: Session,
    settings: Settings | None,
    actor: Actor,
    pilot_id: uuid.UUID,
    data: ResultCreate,
) -> Result:
    """The final evaluation: the pilot is completed with an outcome and its lessons."""
    if not policies.can_conclude(actor):
        raise Forbidden(_("Only living-lab coordinators make the final evaluation."))
    pilot = get_pilot(session=session, pilot_id=pilot_id, lock=True)
    if pilot.state != PilotState.running or session.get(Result, pilot.id) is not None:
        raise Conflict(_("This pilot has its final evaluation already."))
    result = Result(
        pilot_id=pilot.id,
        outcome=data.outcome,
        summary=data.summary,
        lessons=data.lessons,
        decided_by=actor.user_id,
        decided_at=utcnow(),
    )
    session.add(result)
    pilot.state = PilotState.completed
    pilot.recruiting = False
    event(session, pilot, N_("Final evaluation made"), actor)
    audit.record(
        session=session,
        actor=actor,
        action="pilots.pilot.conclude",
        target_type="pilot",
        target_id=str(pilot.id),
        details={"outcome": data.outcome.value},
    )
    notify(
        session,
        settings,
        team_ids(session, pilot.id),
        "pilot_news",
        N_("Your pilot has its final evaluation"),
        N_("The final evaluation of “{title}” is published on its page."),
        f"/pilots/{pilot.id}",
        {"title": pilot.title},
    )
    session.flush()
    return result


def safe_filename(raw: str) -> str:
    """The base name of ``raw``, safe to store and to send back in a header."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = _UNSAFE.sub("_", name).strip(" .")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    ext = ext.lower()
    stem = stem[: MAX_NAME - len(ext) - 1] or "report"
    return f"{stem}.{ext}" if ext else stem


def _bad_file(message: str) -> Invalid:
    return Invalid(message, errors=[{"field": "file", "message": message}])


def _zip_names(content: bytes) -> set[str]:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            return set(z.namelist()[:2000])
    except (zipfile.BadZipFile, ValueError):
        return set()


def check_content(ext: str, content: bytes) -> str:
    """The media type of a file of type ``ext`` whose bytes look like that type; else 422."""
    if ext not in TYPES:
        raise _bad_file(_("Reports may be PDF, ODT, DOCX, XLSX, CSV, TXT, PNG or JPEG files."))
    ok: bool
    if ext == "pdf":
        ok = content.startswith(b"%PDF-")
    elif ext == "png":
        ok = content.startswith(b"\x89PNG\r\n\x1a\n")
    elif ext in ("jpg", "jpeg"):
        ok = content.startswith(b"\xff\xd8\xff")
    elif ext == "odt":
        ok = (
            content.startswith(b"PK\x03\x04")
            and b"application/vnd.oasis.opendocument.text" in content[:100]
        )
    elif ext in ("docx", "xlsx"):
        names = _zip_names(content) if content.startswith(b"PK\x03\x04") else set()
        ok = "[Content_Types].xml" in names and any(
            n.startswith("word/" if ext == "docx" else "xl/") for n in names
        )
    else:  # csv, txt: UTF-8 text without NUL bytes
        try:
            content.decode("utf-8")
            ok = b"\x00" not in content
        except UnicodeDecodeError:
            raise _bad_file(_("Text files must be UTF-8 encoded.")) from None
    if not ok:
        raise _bad_file(_("The file's contents do not match its type .{ext}.").format(ext=ext))
    return TYPES[ext]


def add_report(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    pilot_id: uuid.UUID,
    title: str,
    filename: str,
    content: bytes,
) -> Report:
    """Attach a report to a pilot (the team and coordinators)."""
    pilot = get_pilot(session=session, pilot_id=pilot_id)
    if not policies.can_manage_pilot(actor, team_ids(session, pilot.id)):
        raise Forbidden(_("Only the pilot's team and the coordinators change the pilot."))
    if len(content) > settings.pilot_report_max_bytes:
        raise PayloadTooLarge(
            _("A report may be at most {mb} MB.").format(
                mb=settings.pilot_report_max_bytes // 2**20
            )
        )
    if not content:
        raise _bad_file(_("The file is empty."))
    name = safe_filename(filename)
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    media_type = check_content(ext, content)
    clean_title = " ".join(title.split())[:200] or name
    report = Report(
        pilot_id=pilot.id,
        title=clean_title,
        filename=name,
        media_type=media_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        uploaded_by=actor.user_id,
    )
    session.add(report)
    session.flush()
    event(session, pilot, N_("Report attached: {name}"), actor, name=clean_title)
    audit.record(
        session=session,
        actor=actor,
        action="pilots.report.add",
        target_type="pilot",
        target_id=str(pilot.id),
        details={"sha256": report.sha256, "size": report.size},
    )
    return report


def reports(session: Session, pilot_id: uuid.UUID) -> list[Report]:
    return list(
        session.scalars(
            select(Report).where(Report.pilot_id == pilot_id).order_by(Report.created_at, Report.id)
        ).all()
    )


def get_report(*, session: Session, pilot_id: uuid.UUID, report_id: uuid.UUID) -> Report:
    report = session.get(Report, report_id)
    if report is None or report.pilot_id != pilot_id:
        raise NotFound(_("No such report."))
    return report


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback and the UTF-8 name (RFC 6266)."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def result_of(session: Session, pilot: Pilot) -> Result | None:
    return session.get(Result, pilot.id)
