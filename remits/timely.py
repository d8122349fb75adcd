"""Timely filing from facts: when a claim was first sent, and who acknowledged it.

The scrubber's VAL051 can only warn (it does not know when the payer first received a claim).
The ledger does: :func:`filing_facts` gathers, for one claim id,

* the first sending (``ch_submissions.sent_at`` of the earliest submission carrying it, with
  its clearinghouse, ISA13 and file name);
* the first 999 that accepted its transaction set (IK5 A/E, or the group's AK9 A/E);
* the first 277CA that accepted it (``claim_acks``);
* its earliest date of service (from the stored 837P) and the payer's ``timely_filing_days``
  (payer profile by payer id and SBR09: Medicare 365, Medicaid 365, commercial 180 by default).

:func:`timely_filing_check` flags a replacement or resubmission made on ``today`` when the limit
has passed: either the first submission itself was late (the CO-29 likely stands) or only the
resubmission is, and the first submission is the proof of timely filing.  :func:`proof_text` is
the paragraph for an appeal of a CO-29 denial, citing those dates.  :func:`resubmission_flags` runs
the check for the claims of newly queued files that were sent before (``dermedi send`` prints them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, aliased

from remits.aging import REJECT_CODES, filing_indicator_of
from remits.priority import payer_profile, payer_type_for
from store.acks import ClaimAck
from store.ledger import Submission, SubmissionClaim
from store.remits import SubmittedClaim

DEFAULT_TIMELY_FILING_DAYS = 180


def _d(ts: datetime | None) -> date | None:
    if ts is None:
        return None
    return ts.date() if ts.tzinfo is None else ts.astimezone(UTC).date()


@dataclass(slots=True)
class FilingFacts:
    claim_id: str
    first_sent: date | None = None
    clearinghouse: str = ""
    isa13: str = ""
    remote_name: str = ""
    accepted_999: date | None = None
    ack_999_code: str = ""
    accepted_277ca: date | None = None
    ack_277ca_code: str = ""
    service_date: date | None = None
    payer_id: str = ""
    payer_type: str = ""
    limit_days: int = DEFAULT_TIMELY_FILING_DAYS

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in
                ((f, getattr(self, f)) for f in self.__slots__)}


def _service_date(x12: str, claim_id: str) -> date | None:
    from edi.errors import X12Error
    from edi.x837 import Parser837

    try:
        for claim in Parser837(x12.encode("latin-1"), f"submitted claim {claim_id}").claims():
            dates = [ln.service_date for ln in claim.lines if ln.service_date is not None]
            return min(dates) if dates else None
    except X12Error:
        return None
    return None


def filing_facts(session: Session, claim_id: str, *, settings: Any | None = None) -> FilingFacts:
    facts = FilingFacts(claim_id)
    first = session.execute(
        select(Submission).join(SubmissionClaim, SubmissionClaim.submission_id == Submission.id)
        .where(SubmissionClaim.claim_id == claim_id, Submission.sent_at.is_not(None))
        .order_by(Submission.sent_at, Submission.id).limit(1)).scalar_one_or_none()
    if first is not None:
        facts.first_sent = _d(first.sent_at)
        facts.clearinghouse, facts.isa13, facts.remote_name = first.clearinghouse, f"{first.isa13:09d}", \
            first.remote_name
    ack = session.execute(
        select(Submission.acked_at, SubmissionClaim.ack_code, Submission.ack_code)
        .join(SubmissionClaim, SubmissionClaim.submission_id == Submission.id)
        .where(SubmissionClaim.claim_id == claim_id, Submission.acked_at.is_not(None),
               Submission.state.in_(("accepted", "partial")),
               or_(SubmissionClaim.ack_code.is_(None), SubmissionClaim.ack_code.not_in(REJECT_CODES)))
        .order_by(Submission.acked_at).limit(1)).first()
    if ack is not None:
        facts.accepted_999, facts.ack_999_code = _d(ack[0]), ack[1] or ack[2] or ""
    ca = session.execute(select(ClaimAck.received_at, ClaimAck.status_date, ClaimAck.code).where(
        ClaimAck.claim_id == claim_id, ClaimAck.status == "accepted").order_by(ClaimAck.received_at).limit(1)).first()
    if ca is not None:
        facts.accepted_277ca, facts.ack_277ca_code = ca[1] or _d(ca[0]), ca[2]
    sub = session.scalars(select(SubmittedClaim).where(SubmittedClaim.claim_id == claim_id)
                          .order_by(SubmittedClaim.submitted_at, SubmittedClaim.id).limit(1)).first()
    if sub is not None:
        facts.payer_id = sub.payer_id
        sbr09 = filing_indicator_of(sub.x12)
        facts.payer_type = payer_type_for(sub.payer_id, sbr09, settings)
        prof = payer_profile(sub.payer_id, sbr09, settings)
        if prof is not None:
            facts.limit_days = int(prof.timely_filing_days)
        facts.service_date = _service_date(sub.x12, claim_id)
        if facts.first_sent is None:
            facts.first_sent = _d(sub.submitted_at)
    return facts


def timely_filing_check(facts: FilingFacts, today: date) -> str | None:
    """One line (no PHI beyond the claim id) when a resubmission on ``today`` is past the limit."""
    if facts.first_sent is None:
        return None
    start = facts.service_date or facts.first_sent
    basis = f"date of service {start.isoformat()}" if facts.service_date else f"first submission {start.isoformat()}"
    now_days = (today - start).days
    if now_days <= facts.limit_days:
        return None
    first_days = (facts.first_sent - start).days
    if facts.service_date is not None and first_days > facts.limit_days:
        return (f"timely filing: claim {facts.claim_id} was first sent {facts.first_sent.isoformat()}, {first_days} "
                f"days after its {basis}: past the payer's {facts.limit_days}-day limit already then (CO-29 likely "
                "stands)")
    acks = "; ".join(x for x in (
        f"999 accepted {facts.accepted_999.isoformat()}" if facts.accepted_999 else "",
        f"277CA accepted {facts.accepted_277ca.isoformat()}" if facts.accepted_277ca else "") if x) or \
        "no acceptance on file"
    return (f"timely filing: a resubmission of claim {facts.claim_id} on {today.isoformat()} is {now_days} days "
            f"after its {basis}, past the payer's {facts.limit_days}-day limit; the first submission "
            f"{facts.first_sent.isoformat()} ({first_days} days) is the proof of timely filing ({acks})")


def resubmission_flags(session: Session, submission_ids: list[int], today: date, *,
                       settings: Any | None = None) -> list[str]:
    """:func:`timely_filing_check` for every claim of these (new) submissions that was sent before
    in another submission: the resubmissions past their filing limit, one line each."""
    if not submission_ids:
        return []
    earlier = aliased(SubmissionClaim)
    claim_ids = session.scalars(select(SubmissionClaim.claim_id).distinct().where(
        SubmissionClaim.submission_id.in_(submission_ids),
        exists(select(earlier.id).where(earlier.claim_id == SubmissionClaim.claim_id,
                                        earlier.submission_id.not_in(submission_ids))))
        .order_by(SubmissionClaim.claim_id))
    out = []
    for cid in claim_ids:
        flag = timely_filing_check(filing_facts(session, cid, settings=settings), today)
        if flag:
            out.append(flag)
    return out


def proof_text(facts: FilingFacts) -> str:
    """The paragraph of a CO-29 appeal that cites the first submission and its acceptance."""
    if facts.first_sent is None:
        return f"No submission of claim {facts.claim_id} is on file in dermedi's ledger."
    parts = [f"Claim {facts.claim_id} was first submitted electronically on {facts.first_sent.isoformat()}"
             + (f" through {facts.clearinghouse} (interchange control number {facts.isa13}, file "
                f"{facts.remote_name})" if facts.clearinghouse else "") + "."]
    if facts.accepted_999:
        parts.append(f"The 999 implementation acknowledgment accepted it on {facts.accepted_999.isoformat()} "
                     f"(IK5 {facts.ack_999_code or 'A'}).")
    if facts.accepted_277ca:
        parts.append(f"The 277CA claim acknowledgment accepted it on {facts.accepted_277ca.isoformat()} "
                     f"(STC {facts.ack_277ca_code}).")
    if facts.service_date:
        days = (facts.first_sent - facts.service_date).days
        within = "within" if days <= facts.limit_days else "after"
        parts.append(f"The date of service is {facts.service_date.isoformat()}: the claim was filed {days} days "
                     f"later, {within} the {facts.limit_days}-day filing limit.")
    parts.append("We ask that the timely-filing denial (CARC 29) be reversed and the claim processed.")
    return " ".join(parts)


__all__ = ["FilingFacts", "filing_facts", "proof_text", "resubmission_flags", "timely_filing_check"]
