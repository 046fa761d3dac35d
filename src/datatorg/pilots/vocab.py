"""The living lab's words: every code it stores, with its English label (bokmål in pilots.po).

Pages and the JSON API show these labels, never the codes. The 17 Sustainable Development
Goals are named as the UN names them in English and as FN-sambandet names them in bokmål.
"""

from __future__ import annotations

from datatorg.web import labels
from datatorg.web.i18n import gettext


def N_(message: str) -> str:
    """Mark ``message`` for translation; ``label`` translates it in the request's language."""
    return message


SDGS: dict[int, str] = {
    1: N_("No poverty"),
    2: N_("Zero hunger"),
    3: N_("Good health and well-being"),
    4: N_("Quality education"),
    5: N_("Gender equality"),
    6: N_("Clean water and sanitation"),
    7: N_("Affordable and clean energy"),
    8: N_("Decent work and economic growth"),
    9: N_("Industry, innovation and infrastructure"),
    10: N_("Reduced inequalities"),
    11: N_("Sustainable cities and communities"),
    12: N_("Responsible consumption and production"),
    13: N_("Climate action"),
    14: N_("Life below water"),
    15: N_("Life on land"),
    16: N_("Peace, justice and strong institutions"),
    17: N_("Partnerships for the goals"),
}

DOMAINS: dict[str, str] = {
    "city_development": N_("City development"),
    "emergency_preparedness": N_("Emergency preparedness"),
    "culture": N_("Culture"),
    "sport": N_("Sport"),
    "volunteering": N_("Volunteering"),
    "municipal_services": N_("Municipal services"),
    "energy": N_("Energy"),
    "mobility": N_("Mobility"),
    "health": N_("Health"),
    "education": N_("Education"),
}

SUBMITTER_KINDS: dict[str, str] = {
    "citizen": N_("Citizen"),
    "startup": N_("Startup"),
    "student": N_("Student"),
    "municipality": N_("The municipality"),
    "research": N_("Research institution"),
}

IDEA_STATES: dict[str, str] = {
    "submitted": N_("Submitted"),
    "screening": N_("Being screened"),
    "evaluating": N_("Being evaluated"),
    "accepted": N_("Accepted"),
    "rejected": N_("Not accepted"),
    "withdrawn": N_("Withdrawn"),
}

CALL_STATES: dict[str, str] = {
    "upcoming": N_("Opens soon"),
    "open": N_("Open for ideas"),
    "closed": N_("Closed"),
}

CRITERIA: dict[str, str] = {
    "impact": N_("Impact"),
    "feasibility": N_("Feasibility"),
    "sustainability": N_("Sustainability"),
    "citizen_involvement": N_("Citizen involvement"),
    "data_availability": N_("Data availability"),
    "privacy_risk": N_("Privacy risk (5 = low risk)"),
}

# Weights (percent) a call uses unless its coordinator sets others.
DEFAULT_WEIGHTS: dict[str, int] = {
    "impact": 25,
    "feasibility": 20,
    "sustainability": 15,
    "citizen_involvement": 15,
    "data_availability": 15,
    "privacy_risk": 10,
}

PILOT_STATES: dict[str, str] = {
    "running": N_("Running"),
    "completed": N_("Completed"),
}

PHASES: dict[str, str] = {
    "exploration": N_("Exploration"),
    "co_creation": N_("Co-creation"),
    "experimentation": N_("Experimentation"),
    "evaluation": N_("Evaluation"),
}

RESOURCE_KINDS: dict[str, str] = {
    "competence": N_("Competence"),
    "infrastructure": N_("Infrastructure"),
    "data": N_("Data"),
    "method": N_("Method"),
    "funding": N_("Funding"),
}

RESOURCE_STATUSES: dict[str, str] = {
    "requested": N_("Requested"),
    "granted": N_("Granted"),
    "declined": N_("Declined"),
}

OUTCOMES: dict[str, str] = {
    "scale": N_("Scale up"),
    "iterate": N_("Iterate"),
    "stop": N_("Stop"),
}

DIRECTIONS: dict[str, str] = {
    "increase": N_("Higher is better"),
    "decrease": N_("Lower is better"),
}

KPI_SOURCES: dict[str, str] = {
    "manual": N_("Entered by hand"),
    "dataset": N_("Computed from a dataset"),
}

SCHEDULES: dict[str, str] = {
    "manual": N_("Only on demand"),
    "daily": N_("Every day"),
    "weekly": N_("Every week"),
}

UPDATE_KINDS: dict[str, str] = {
    "note": N_("Update"),
    "milestone": N_("Milestone"),
    "event": N_("Event"),
}

COMMENT_STATUSES: dict[str, str] = {
    "visible": N_("Visible"),
    "hidden": N_("Hidden by a moderator"),
}

NEGOTIATION_STATES: dict[str, str] = {
    "REQUESTED": N_("Waiting for the data owner"),
    "OFFERED": N_("Counter-offer received"),
    "ACCEPTED": N_("Counter-offer accepted"),
    "AGREED": N_("Agreed"),
    "VERIFIED": N_("Agreed"),
    "FINALIZED": N_("Agreement made"),
    "TERMINATED": N_("Closed without agreement"),
}

AGREEMENT_STATES: dict[str, str] = {
    "active": N_("In force"),
    "pending": N_("Not started yet"),
    "expired": N_("Expired"),
    "suspended": N_("Suspended"),
    "revoked": N_("Revoked"),
    "terminated": N_("Ended"),
}

VOCABULARIES: dict[str, dict[str, str]] = {
    "domain": DOMAINS,
    "submitter_kind": SUBMITTER_KINDS,
    "idea_state": IDEA_STATES,
    "call_state": CALL_STATES,
    "criterion": CRITERIA,
    "pilot_state": PILOT_STATES,
    "phase": PHASES,
    "resource_kind": RESOURCE_KINDS,
    "resource_status": RESOURCE_STATUSES,
    "outcome": OUTCOMES,
    "direction": DIRECTIONS,
    "kpi_source": KPI_SOURCES,
    "schedule": SCHEDULES,
    "update_kind": UPDATE_KINDS,
    "comment_status": COMMENT_STATUSES,
    "negotiation_state": NEGOTIATION_STATES,
    "agreement_state": AGREEMENT_STATES,
}


def label(vocabulary: str, code: object) -> str:
    """The label of ``code`` in ``vocabulary``, in the request's language (from the label
    registry, where ``pilots/labels.py`` puts these words)."""
    if vocabulary == "sdg":
        return sdg_name(int(str(code)))
    key = getattr(code, "value", code)
    return labels.label(kind_of(vocabulary), str(key))


def kind_of(vocabulary: str) -> str:
    """The label registry's kind for one of ``VOCABULARIES``."""
    from datatorg.pilots.labels import KINDS

    return KINDS[vocabulary][0]


def sdg_name(number: int) -> str:
    """ "Goal 7: Affordable and clean energy", in the request's language."""
    return gettext("Goal {number}: {name}").format(number=number, name=gettext(SDGS[number]))


def options(vocabulary: str) -> list[tuple[str, str]]:
    """(code, label) pairs for a form's select or a filter, in the request's language."""
    if vocabulary == "sdg":
        return [(str(n), sdg_name(n)) for n in SDGS]
    return labels.choices(kind_of(vocabulary))


def all_labels() -> dict[str, list[dict[str, str]]]:
    """Every vocabulary with codes and labels in the request's language (the JSON twin)."""
    out = {name: [{"code": c, "label": t} for c, t in options(name)] for name in VOCABULARIES}
    out["sdg"] = [{"code": c, "label": t} for c, t in options("sdg")]
    return out
