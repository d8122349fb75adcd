"""Appeal letter drafts per denial category and CARC, merged with the item's payer, claim,
dates, codes and amounts.  The draft is plain text: the biller edits it in the page, the web
layer renders the edited text to PDF and stores it (:func:`remits.actions.store_appeal`).

Templates (the first that fits wins): CO-97/234/236 bundling with a distinct-site (59/XS)
argument; CO-50 (and other medical-necessity denials) with the diagnoses; CO-16 missing
information; CO-29 timely filing with the proof of submission from the ledger; a generic
reconsideration for anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from remits.explain import explain_carc
from store.ledger import Submission, SubmissionClaim
from store.remits import SubmittedClaim, WorkItem


@dataclass(frozen=True, slots=True)
class Draft:
    template: str
    subject: str
    body: str


def _template(item: WorkItem) -> str:
    carc = (item.carc_sent or item.carc).upper()
    if carc in ("97", "234", "236", "231") or item.category == "bundling":
        return "bundling_distinct_site"
    if carc == "29" or item.category == "timely_filing":
        return "timely_filing"
    if carc == "16" or item.category == "submission_error":
        return "missing_information"
    if carc in ("50", "150", "151", "55", "56", "167") or item.category == "medical_necessity":
        return "medical_necessity"
    return "reconsideration"


def submission_proof(session: Session, claim_id: str) -> list[str]:
    """Lines of proof that the claim was sent in time: the ledger's uploads and acknowledgements."""
    out: list[str] = []
    rows = session.execute(
        select(Submission.clearinghouse, Submission.sent_at, Submission.acked_at, Submission.ack_code,
               Submission.gs06, SubmissionClaim.st02)
        .join(SubmissionClaim, SubmissionClaim.submission_id == Submission.id)
        .where(SubmissionClaim.claim_id == claim_id).order_by(Submission.id)).all()
    for ch, sent, acked, code, gs06, st02 in rows:
        if sent is None:
            continue
        line = f"- Sent electronically to clearinghouse {ch} on {sent.date().isoformat()} (group control {gs06}, " \
               f"transaction {st02})"
        if acked is not None:
            line += f"; acknowledged {acked.date().isoformat()} with code {code or '-'}"
        out.append(line + ".")
    if not out:
        sub = session.scalar(select(SubmittedClaim).where(SubmittedClaim.claim_id == claim_id)
                             .order_by(SubmittedClaim.submitted_at).limit(1))
        if sub is not None:
            out.append(f"- Recorded as submitted on {sub.submitted_at.date().isoformat()} "
                       f"(file sha256 {sub.file_sha256[:16]}...).")
    return out


def draft_letter(session: Session, item: WorkItem, claim: dict[str, Any] | None, *, practice: str = "",
                 today: date | None = None) -> Draft:
    """The draft letter for ``item``; ``claim`` is :func:`remits.claimview.claim_as_sent` (or None)."""
    day = today or date.today()
    template = _template(item)
    carc = item.carc_sent or item.carc
    code = f"{item.group_code}-{carc}"
    mods = ",".join(m for m in item.modifiers.split(",") if m)
    proc = item.procedure + (f" with modifier(s) {mods}" if mods else "")
    dos = item.service_date.isoformat() if item.service_date else "the date of service"
    patient = (claim or {}).get("patient") or {}
    dx = (claim or {}).get("diagnoses") or []
    line_dx: list[str] = []
    for ln in (claim or {}).get("lines", []):
        if ln["code"] == item.procedure:
            line_dx = ln["diagnoses"]
            break
    head = [
        f"{day.isoformat()}",
        "",
        f"To: {item.payer_name or item.payer_id} - Appeals / Reconsideration",
        f"Re: Claim {item.claim_id}, payer claim number {item.payer_claim_number or '(none)'}",
        f"Patient: {patient.get('name', '(see claim)')}, born {patient.get('birth_date', '-')}, "
        f"member id {patient.get('member_id', '-')}",
        f"Service: {proc} on {dos}, billed {item.charge if item.charge is not None else item.amount}, "
        f"denied {item.amount} with {code}",
        f"Remit date: {item.remit_date.isoformat() if item.remit_date else '-'}",
        "",
        "Dear Appeals Reviewer,",
        "",
    ]
    if template == "bundling_distinct_site":
        subject = "Request for reconsideration: separately identifiable procedure (bundling)"
        body = [
            f"The line for {item.procedure} was denied as bundled ({code}: {explain_carc(carc, item.category)}).",
            "The service was performed on a separate lesion at a distinct anatomic site from the other procedure(s) "
            "of the same encounter, as documented in the enclosed procedure note; modifier 59/XS identifies it as "
            "a distinct procedural service. Under the NCCI policy manual, procedures performed at separate sites "
            "are separately reportable.",
            "We ask you to reprocess the line for payment.",
        ]
    elif template == "medical_necessity":
        subject = "Request for redetermination: medical necessity"
        dxs = ", ".join(line_dx or dx) or "(see the claim)"
        body = [
            f"The line for {item.procedure} was denied for medical necessity ({code}: "
            f"{explain_carc(carc, item.category)}).",
            f"The service treated the documented condition(s) {dxs}. The enclosed notes record the lesion's "
            "history, symptoms and clinical findings that made treatment necessary, in line with the applicable "
            "coverage policy.",
            "We ask you to reconsider and pay the line.",
        ]
    elif template == "missing_information":
        subject = "Claim information supplied"
        rarcs = ", ".join(r for r in item.rarcs.split(",") if r) or "none given"
        body = [
            f"The claim was returned for missing or incorrect information ({code}; remark codes {rarcs}).",
            "The missing information is supplied in this letter and the enclosed records; please reprocess "
            "the claim with it.",
        ]
    elif template == "timely_filing":
        subject = "Request for reconsideration: the claim was filed on time"
        proof = submission_proof(session, item.claim_id) or ["- (attach the clearinghouse acceptance report)"]
        body = [
            f"The claim was denied as filed late ({code}). Our records show it was submitted within the filing "
            "limit:",
            *proof,
            "The clearinghouse acceptance report is enclosed. We ask you to reprocess the claim.",
        ]
    else:
        subject = "Request for reconsideration"
        body = [
            f"The line for {item.procedure} was denied with {code} ({explain_carc(carc, item.category)}).",
            "We believe the service was billed correctly and is payable, as the enclosed records show. "
            "We ask you to reconsider the denial.",
        ]
    tail = ["", "Sincerely,", "", practice or "Billing office", ""]
    text = "\n".join([*head, f"Subject: {subject}", "", *("\n".join([p, ""]) for p in body), *tail])
    return Draft(template, subject, text)


__all__ = ["Draft", "draft_letter", "submission_proof"]
