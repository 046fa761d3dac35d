"""Words for identity's codes: organisation kinds and roles (see ``datatorg.web.labels``)."""

from __future__ import annotations

from datatorg.identity.models import InvitationState, OrgKind, Role
from datatorg.web.labels import register_enum

register_enum(
    "org_kind",
    OrgKind,
    {
        OrgKind.public_sector: ("Offentlig sektor", "Public sector"),
        OrgKind.research: ("Forskning", "Research"),
        OrgKind.education: ("Utdanning", "Education"),
        OrgKind.business: ("Næringsliv", "Business"),
        OrgKind.private_person: ("Privatperson", "Private person"),
        OrgKind.ngo: ("Frivillig organisasjon", "Non-profit organisation"),
    },
)

register_enum(
    "role",
    Role,
    {
        Role.admin: ("Administrator", "Administrator"),
        Role.publisher: ("Utgiver", "Publisher"),
        Role.steward: ("Dataforvalter", "Data steward"),
        Role.consumer: ("Databruker", "Data consumer"),
        Role.citizen: ("Innbygger", "Citizen"),
        Role.coordinator: ("Koordinator for living lab", "Living-lab coordinator"),
        Role.evaluator: ("Evaluator", "Evaluator"),
    },
)

register_enum(
    "invitation_state",
    InvitationState,
    {
        InvitationState.pending: ("Venter på svar", "Waiting for an answer"),
        InvitationState.accepted: ("Godtatt", "Accepted"),
        InvitationState.declined: ("Avslått", "Declined"),
        InvitationState.withdrawn: ("Trukket tilbake", "Withdrawn"),
    },
)
