"""The living lab's services, for other domains and the demo: one import for everything.

Ideas (``ideas``), calls (``calls``), comments, screening and evaluation (``review``), pilots
(``pilots``), data requests through the marketplace (``data``), participants (``participation``,
the seam to the consent model), KPIs (``kpis``, computed through the gate by ``compute``) and
results (``results``).
"""

from __future__ import annotations

from datatorg.pilots import consent_scope  # noqa: F401  (registers the pilots' facts with privacy)
from datatorg.pilots.calls import create_call, get_call, list_calls
from datatorg.pilots.comments import add_comment, flag_comment, moderate
from datatorg.pilots.compute import compute, parse_query, run_due
from datatorg.pilots.data import request_data
from datatorg.pilots.ideas import create_idea, get_idea, list_ideas, support, unsupport
from datatorg.pilots.kpis import add_value, create_kpi, get_kpi, run_now
from datatorg.pilots.participation import join, leave
from datatorg.pilots.pilots import (
    add_member,
    add_partner,
    create_pilot,
    decide_resource,
    get_pilot,
    list_pilots,
    post_update,
    request_resource,
    set_phase,
)
from datatorg.pilots.results import add_report, conclude
from datatorg.pilots.review import (
    assign_evaluator,
    complete_screening,
    decide,
    record_dpia,
    start_screening,
    submit_evaluation,
    withdraw,
)

__all__ = [
    "add_comment",
    "add_member",
    "add_partner",
    "add_report",
    "add_value",
    "assign_evaluator",
    "complete_screening",
    "compute",
    "conclude",
    "create_call",
    "create_idea",
    "create_kpi",
    "create_pilot",
    "decide",
    "decide_resource",
    "flag_comment",
    "get_call",
    "get_idea",
    "get_kpi",
    "get_pilot",
    "join",
    "leave",
    "list_calls",
    "list_ideas",
    "list_pilots",
    "moderate",
    "parse_query",
    "post_update",
    "record_dpia",
    "request_data",
    "request_resource",
    "run_due",
    "run_now",
    "set_phase",
    "start_screening",
    "submit_evaluation",
    "support",
    "unsupport",
    "withdraw",
]
