"""Replacement (corrected) 837P for a denied claim, written for review - never sent automatically.

``write_corrected_claim(session, item_id, out_path) -> Correction``

* The original claim must have gone through dermedi: its X12 is kept in ``submitted_claims``
  (:func:`remits.worklist.record_submitted_claims`).  Otherwise :class:`WorklistError`
  explains that the claim has to be corrected where it was billed.
* CLM05-3 becomes ``7`` (replacement of a prior claim) and REF*F8 carries the payer claim
  control number (CLP07) from the remit, placed where the 2300 loop expects it.  Exception:
  a claim the payer could not process (RARC MA130: "no appeal rights, submit a new claim") or
  rejected at the front door (277CA) was never adjudicated, so it is written as a new claim
  (frequency code unchanged, no REF*F8).
* Fixes are applied only where the classification route marks them certain: today that is
  "add modifier 25 to the E/M line" for a bundling denial (CO-97/234/236/231) of an E/M line
  billed without 25.  Every other open denial of the claim is listed as "needs review".
* The output is a one-claim 837P interchange (HL/SE/GE/IEA recomputed by
  :class:`edi.x837.ClaimWriter`), mode 0600.  A ``corrected_claim`` event is added
  to each item of the claim; the status is not changed (the user sets ``corrected`` once the
  claim is actually sent).
* Timely filing from facts (:mod:`remits.timely`): when the replacement is written past the payer's
  filing limit, ``needs_review`` says so with the dates (date of service, first submission, its
  999/277CA acceptance) - the proof to attach, or the sign that the CO-29 stands.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from edi.reader import Segment
from edi.x837 import Claim, ClaimWriter, Parser837, ServiceLine
from remits.worklist import OPEN_STATUSES, WorklistError, add_event, latest_submitted_id
from store.remits import SubmittedClaim, WorkItem

# 2300 segments (and REF qualifiers) that come before REF*F8 in 005010X222A1.
_BEFORE_F8 = frozenset({"DTP", "PWK", "CN1", "AMT"})
_REF_BEFORE_F8 = frozenset({"4N", "F5", "EW", "9F", "G1"})


@dataclass
class Correction:
    claim_id: str
    path: str
    payer_claim_number: str
    applied: list[str] = field(default_factory=list)
    needs_review: list[str] = field(default_factory=list)
    items: list[int] = field(default_factory=list)
    new_claim: bool = False          # unprocessable / rejected: a new claim, not a replacement

    def summary(self) -> str:
        done = "; ".join(self.applied) or "no automatic fix"
        review = ("; review: " + "; ".join(self.needs_review)) if self.needs_review else ""
        kind = ("new claim (unprocessable or rejected, so not a replacement: CLM05-3=1, no REF*F8)"
                if self.new_claim else f"replacement claim (CLM05-3=7, REF*F8={self.payer_claim_number})")
        return f"{kind} {self.claim_id} written to {self.path} for review, not sent: {done}{review}"


def _find_line(claim: Claim, item: WorkItem) -> ServiceLine | None:
    for ln in claim.lines:
        ref = next((s.get(2) for s in ln.segments if s.elements[0] == "REF" and s.get(1) == "6R"), "")
        if item.line_control and ref == item.line_control:
            return ln
    same = [ln for ln in claim.lines if ln.code == item.procedure
            and (item.service_date is None or ln.service_date is None or ln.service_date == item.service_date)]
    if len(same) == 1:
        return same[0]
    for ln in same:
        if ln.number == str(item.line_number):
            return ln
    return None


def _add_modifier(line: ServiceLine, modifier: str, component: str) -> bool:
    sv1 = line.sv1
    if sv1 is None or modifier in line.modifiers or len(line.modifiers) >= 4:
        return False
    comp = [line.qualifier, line.code, *line.modifiers, modifier]
    sv1.set(1, component.join(comp))
    line.modifiers.append(modifier)
    return True


def _set_replacement(claim: Claim, payer_claim_number: str, component: str) -> None:
    clm = claim.clm
    c5 = clm.get(5).split(component)
    while len(c5) < 3:
        c5.append("")
    c5[2] = "7"
    clm.set(5, component.join(c5))
    for s in claim.segments:
        if s.elements[0] == "REF" and s.get(1) == "F8":
            s.set(2, payer_claim_number)
            return
    at = 1
    while at < len(claim.segments):
        s = claim.segments[at]
        sid = s.elements[0]
        if sid in _BEFORE_F8 or (sid == "REF" and s.get(1) in _REF_BEFORE_F8):
            at += 1
            continue
        break
    claim.segments.insert(at, Segment(["REF", "F8", payer_claim_number]))


def write_corrected_claim(session: Session, item_id: int, out_path: str | Path, *, user: str = "dermedi",
                          today: date | None = None, settings: Any | None = None) -> Correction:
    from edi.files import private_open
    from remits.timely import filing_facts, timely_filing_check

    item = session.get(WorkItem, item_id)
    if item is None:
        raise WorklistError(f"no worklist item {item_id}")
    sub_id = item.submitted_claim_id or latest_submitted_id(session, item.claim_id)
    if sub_id is None:
        raise WorklistError(f"claim {item.claim_id} was not sent through dermedi (no copy of the original 837P is "
                            "stored), so a replacement cannot be written here: correct it where it was billed")
    sub = session.get(SubmittedClaim, sub_id)
    assert sub is not None
    # A claim the payer could not process (MA130) or rejected at the front door (277CA) was never
    # adjudicated: it is sent again as a new claim, not as a replacement of a payer claim number.
    new_claim = item.source == "277CA" or "MA130" in item.rarcs.split(",")
    if not new_claim and not item.payer_claim_number:
        raise WorklistError(f"item {item_id} has no payer claim control number (CLP07) for REF*F8")
    parser = Parser837(sub.x12.encode("latin-1"), f"submitted claim {item.claim_id}")
    claim = next((c for c in parser.claims() if c.claim_id == item.claim_id), None)
    if claim is None:
        raise WorklistError(f"the stored copy of claim {item.claim_id} does not contain that claim")
    component = parser.delimiters.component
    result = Correction(item.claim_id, str(out_path), item.payer_claim_number, new_claim=new_claim)
    siblings = list(session.scalars(select(WorkItem).where(
        WorkItem.claim_id == item.claim_id, WorkItem.payer_id == item.payer_id,
        WorkItem.status.in_(OPEN_STATUSES), WorkItem.source == item.source).order_by(WorkItem.id)))
    if item not in siblings:
        siblings.insert(0, item)
    for it in siblings:
        label = (f"item {it.id} line {it.line_number or '-'} {it.procedure} {it.group_code}-{it.carc_sent} "
                 f"({it.category})")
        kind, _, value = it.fix.partition(":")
        line = _find_line(claim, it) if it.line_number is not None else None
        if kind == "add_modifier" and line is not None and _add_modifier(line, value, component):
            result.applied.append(f"modifier {value} added to line {line.number} {line.code}")
        else:
            result.needs_review.append(f"{label}: {it.action}")
        result.items.append(it.id)
    if not new_claim:
        _set_replacement(claim, item.payer_claim_number, component)
    # the ledger knows when the claim was first sent: a resubmission past the filing limit is flagged
    flag = timely_filing_check(filing_facts(session, item.claim_id, settings=settings), today or date.today())
    if flag:
        result.needs_review.append(flag)
    with private_open(out_path, "wb") as fh:
        writer = ClaimWriter(fh, parser.delimiters, isa_control=int(time.time()) % 1_000_000_000 or 1)
        writer.write(claim)
        writer.close()
    for it in siblings:
        add_event(session, it, "corrected_claim", user=user,
                  note=f"replacement 837P written to {Path(out_path).name} for review (not sent)")
    return result
