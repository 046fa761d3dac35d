"""The living lab's codes in the platform's label registry (``datatorg.web.labels``).

The words are written once, in ``pilots/vocab.py`` (English msgids, bokmål in ``pilots.po``);
here every vocabulary is registered under its kind with both languages, the enums with
``register_enum`` so a member without words fails at import. ``vocab.label``/``options`` read
them back from the registry, and ``tests/plain.py`` holds every page to them.
"""

from __future__ import annotations

import enum

from datatorg.pilots import vocab
from datatorg.pilots.models import CommentStatus, Domain, IdeaState, SubmitterKind
from datatorg.pilots.pilot_models import (
    Direction,
    KpiSource,
    Outcome,
    Phase,
    PilotState,
    ResourceKind,
    ResourceStatus,
    Schedule,
    UpdateKind,
)
from datatorg.web import i18n
from datatorg.web.labels import Label, register, register_enum

# vocab's vocabulary name → (registry kind, enum or None)
KINDS: dict[str, tuple[str, type[enum.Enum] | None]] = {
    "domain": ("lab_domain", Domain),
    "submitter_kind": ("submitter_kind", SubmitterKind),
    "idea_state": ("idea_state", IdeaState),
    "call_state": ("call_state", None),
    "criterion": ("lab_criterion", None),
    "pilot_state": ("pilot_state", PilotState),
    "phase": ("pilot_phase", Phase),
    "resource_kind": ("resource_kind", ResourceKind),
    "resource_status": ("resource_status", ResourceStatus),
    "outcome": ("pilot_outcome", Outcome),
    "direction": ("kpi_direction", Direction),
    "kpi_source": ("kpi_source", KpiSource),
    "schedule": ("kpi_schedule", Schedule),
    "update_kind": ("pilot_update_kind", UpdateKind),
    "comment_status": ("comment_status", CommentStatus),
    # the market's states as the living lab words them
    "negotiation_state": ("lab_negotiation_state", None),
    "agreement_state": ("lab_agreement_state", None),
}


def _words(msgid: str) -> Label:
    return Label(i18n.translations("nb").gettext(msgid), msgid)


def _register() -> None:
    for name, (kind, enum_cls) in KINDS.items():
        words = {code: _words(text) for code, text in vocab.VOCABULARIES[name].items()}
        if enum_cls is None:
            register(kind, words)
        else:
            register_enum(kind, enum_cls, words)
    register(
        "sdg",
        {
            str(n): Label(
                i18n.translations("nb")
                .gettext("Goal {number}: {name}")
                .format(number=n, name=i18n.translations("nb").gettext(text)),
                f"Goal {n}: {text}",
            )
            for n, text in vocab.SDGS.items()
        },
    )


_register()
