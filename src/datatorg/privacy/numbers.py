"""Subject numbers: the integer the gate's consent filter tests instead of the subject key.

Every subject gets a number when it is created (``number_new``; the migration numbered the
subjects that existed before): a small integer allocated by the database, stable for the
subject's life and never given to another subject, removed with the subject on erasure.
When the lake writes a file of a dataset that declares subjects it asks ``numbering`` for
the numbers of the file's subject keys and stores them in a hidden column next to the key
column (``lake.service.SUBJECT_NO``); the subject filter (``privacy.filters``) gives the
same subjects as keys and as numbers, and the gate tests the integer column when every file
of the version carries it (``docs/privacy.md``).

A number is not a pseudonym anyone sees: no page, API answer, download, export, schema or
catalog entry shows it, and on its own it says nothing about the person.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from datatorg.privacy.models import DatasetDeclaration, Subject, SubjectNumber

_CHUNK = 500


def number_new(session: Session, subject_ids: list[uuid.UUID]) -> None:
    """Give these new subjects their numbers (in the caller's transaction)."""
    if subject_ids:
        session.execute(insert(SubjectNumber), [{"subject_id": s} for s in subject_ids])


def numbers_for_keys(*, session: Session, keys: Iterable[str]) -> dict[str, int]:
    """The numbers of the subjects holding ``keys``; a key that names no subject (an erased
    subject's, kept under a legal hold, say) is left out. A subject without a number (none
    should be: every subject is numbered when created) gets one now."""
    wanted = sorted(set(keys))
    out: dict[str, int] = {}
    for _ in range(2):
        unnumbered: list[uuid.UUID] = []
        for i in range(0, len(wanted), _CHUNK):
            for key, sid, number in session.execute(
                select(Subject.subject_key, Subject.id, SubjectNumber.number)
                .outerjoin(SubjectNumber, SubjectNumber.subject_id == Subject.id)
                .where(Subject.subject_key.in_(wanted[i : i + _CHUNK]))
            ):
                if number is None:
                    unnumbered.append(sid)
                else:
                    out[key] = int(number)
        if not unnumbered:
            break
        number_new(session, unnumbered)
        wanted = sorted(set(wanted) - set(out))
    return out


def numbering(
    *, session: Session, dataset_id: uuid.UUID
) -> Callable[[list[str]], dict[str, int]] | None:
    """What the lake calls when it writes a file of ``dataset_id``: subject keys → subject
    numbers for the hidden number column; None when the dataset declares no subjects."""
    if session.get(DatasetDeclaration, dataset_id) is None:
        return None

    def numbers(keys: list[str]) -> dict[str, int]:
        return numbers_for_keys(session=session, keys=keys)

    return numbers
