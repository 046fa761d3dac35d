"""Privacy's part of every read's row policy: consent, restriction and objection as the
subject filter, and the dataset's legal basis in the read's audit record.

Listed in ``access.pipeline.CONTRIBUTORS``: the pipeline asks it on every read of a version
whose schema has a ``subject_key`` column (never cached by the gate), for every face — rows,
downloads, the data page, CKAN ``datastore_search``, statistics, other domains' reads (KPIs,
NGSI-LD) — before any engine runs, so every engine applies the same filter. For a dataset
whose legal basis is consent, a read under an agreement keeps only the subjects whose
consent for the agreement's purpose covers the dataset at this moment (no purpose: nobody);
restricted subjects and objectors leave every read. ``privacy.service.subject_filter`` reads
the consent records live (its own cache is valid only under the same
``privacy_state.version``, which every change rewrites in its own transaction; see
``docs/privacy.md``). It names the same subjects by key and by subject number; engines test
the number where every file of the version carries privacy's hidden number column. Reads
under an agreement ask for the disclosure ledger (``PolicyPart(ledger=True)``): the gate's
``access/ledger.py`` records the subjects whose rows left, in the read's own audit
transaction.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from datatorg.access.policy import PolicyPart, PolicyRequest, SubjectFilter, SubjectNumbers


def part(session: Session, request: PolicyRequest) -> PolicyPart | None:
    """The subject filter and legal basis of one read; None for datasets that declare no
    subjects."""
    from datatorg.privacy import service as privacy  # privacy reads through the gate too

    found = privacy.read_filter(
        session=session,
        dataset_id=request.dataset_id,
        publisher_id=request.publisher_id,
        purpose=request.purpose,
        owner=request.owner,
        agreement_id=request.agreement_id,
    )
    if found is None:
        return None
    numbers = None
    if found.numbers is not None:  # the same subjects by number (a numbered version's column)
        numbers = SubjectNumbers(keep=found.numbers[0], drop=found.numbers[1])
    return PolicyPart(
        subjects=SubjectFilter(keep=found.keep, drop=found.drop, numbers=numbers),
        audit={"legal_basis": found.legal_basis},
        # rows that leave under an agreement go to the disclosure ledger ("who used my data");
        # the owner's own reads disclose nothing, so they need not carry the keys
        ledger=request.agreement_id is not None,
    )
