"""277CA front-end rejections -> worklist items (category ``front_end_rejection``).

A claim the payer (or clearinghouse) rejected at the front door was never adjudicated, so
there is no 835 for it: the 277CA is the only signal.  Each rejected claim opens one
claim-level item (action ``correct_and_resubmit``; the STC category:status codes are kept in
the item's ``rarcs`` column, e.g. ``A7:562``; rejected lines are named in the note).  A later
277CA that accepts the claim closes the open front-end item (``auto_resolved``).  Every claim's
answer (accepted or rejected, STC category:status) is also kept in ``claim_acks``, which the
acknowledgment watch (:mod:`remits.aging`) reads to know that the 277CA came.  Idempotent
by file sha256; one transaction per file.
"""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from edi.x277 import ClaimStatus, read_277ca
from remits.ingest import IngestResult, sha256_file
from remits.priority import deadline_for, payer_type_for, priority
from remits.worklist import OPEN_STATUSES, add_event, auto_resolve, latest_submitted_id, now, refresh_priorities
from store import session_scope
from store.acks import ClaimAck
from store.remits import RemitFile, WorkItem


def _codes(cs: ClaimStatus) -> list[str]:
    return [f"{c.category}:{c.code}" for c in cs.codes if c.rejected] or [f"{cs.category}:{cs.status_code}"]


def ingest_277ca(engine: Engine, path: str | os.PathLike[str], *, settings: Any | None = None,
                 today: date | None = None) -> IngestResult:
    p = Path(path)
    digest = sha256_file(p)
    result = IngestResult(str(p), digest, "ingested")
    day = today or date.today()
    try:
        with session_scope(engine) as s:
            if s.scalar(select(RemitFile.id).where(RemitFile.sha256 == digest)) is not None:
                result.status = "duplicate"
                return result
            row = RemitFile(sha256=digest, name=p.name, kind="277CA", size=p.stat().st_size, received_at=now(),
                            status="ingested")
            s.add(row)
            s.flush()
            result.file_id = row.id
            for cs in read_277ca(p, str(p)):
                result.claims += 1
                s.add(ClaimAck(claim_id=cs.claim_id[:38], source="277CA",
                               status="rejected" if cs.rejected else "accepted",
                               code=f"{cs.category}:{cs.status_code}"[:20], remit_file_id=row.id,
                               status_date=cs.status_date, received_at=row.received_at))
                open_items = list(s.scalars(select(WorkItem).where(
                    WorkItem.claim_id == cs.claim_id, WorkItem.category == "front_end_rejection",
                    WorkItem.status.in_(OPEN_STATUSES))))
                if cs.accepted:
                    for item in open_items:
                        auto_resolve(s, item, remit_claim_id=None,
                                     note=f"accepted ({cs.category}:{cs.status_code}) in 277CA {p.name}")
                        result.items_resolved += 1
                    continue
                codes = _codes(cs)
                lines = [f"{ln.code} {','.join(f'{c.category}:{c.code}' for st in ln.statuses for c in st.codes)}"
                         for ln in cs.lines if ln.rejected]
                note = f"rejected {' '.join(codes)}" + (f"; lines: {'; '.join(lines)}" if lines else "")
                msgs = [m for m in cs.messages if m]
                if msgs:
                    note += f"; payer message: {msgs[0][:120]}"
                if open_items:
                    add_event(s, open_items[0], "seen_again", note=note)
                    result.items_seen_again += 1
                    continue
                rdate = cs.status_date or cs.transaction.date or day
                payer = cs.payer_id or cs.payer_name
                ptype = payer_type_for(payer, "", settings)
                sdate = cs.service_period[0]
                deadline = deadline_for(rdate, payer, ptype, action="correct_and_resubmit", service_date=sdate,
                                        settings=settings)
                amount = cs.charge if cs.charge is not None else Decimal(0)
                at = now()
                item = WorkItem(
                    source="277CA", claim_id=cs.claim_id[:38], line_number=None, service_date=sdate,
                    rarcs=",".join(codes)[:200], category="front_end_rejection", action="correct_and_resubmit",
                    route="277ca", amount=amount, charge=cs.charge, payer_id=payer[:80],
                    payer_name=cs.payer_name[:120], payer_type=ptype, payer_claim_number=cs.payer_claim_number[:50],
                    remit_date=rdate, deadline=deadline,
                    priority=priority(amount, "front_end_rejection", deadline, day), status="new", created_at=at,
                    updated_at=at, remit_file_id=row.id,
                    submitted_claim_id=latest_submitted_id(s, cs.claim_id))
                s.add(item)
                s.flush()
                add_event(s, item, "created", to_status="new", note=note, at=at)
                result.items_created += 1
            row.claims = result.claims
            row.items_created = result.items_created
            refresh_priorities(s, day)
    except IntegrityError:
        result.status = "duplicate"
        result.file_id = None
    return result
