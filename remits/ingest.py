"""835 ingest: parse, balance, store, classify, open and close worklist items.

``ingest_835_file(engine, path, *, settings=None, today=None) -> IngestResult``

1. The file's sha256 is computed; a file already seen is a ``duplicate`` (nothing new).
2. One streaming pass runs the three balancing rules of :mod:`edi.x835` (service line,
   claim, transaction) while it stores the file (3.).  Any failure -> what was stored is rolled
   back and the file is ``quarantined``: one ``remit_files`` row with the reason, the findings
   (rule, claim, line, expected/reported amounts) and the raw content; nothing else is stored
   and no worklist item is made until a user releases it (:func:`release_quarantined`,
   ``dermedi remits quarantine release ID``).
3. The pass stores payer, payment (BPR/TRN), claims, lines, adjustments (each one
   classified by :func:`remits.classify.classify`), remarks and PLB, and opens one worklist
   item per denied line (or claim-level denial).  An 835 transaction whose payer + TRN02
   trace number is already stored is skipped (a re-sent payment); a file whose
   transactions are all known is a ``duplicate``.
4. Everything of one file happens in ONE database transaction: a crash or an error half-way
   leaves nothing behind.  Rows are written in bulk, a batch of claims at a time
   (:mod:`store.bulk`), inside that transaction.

Denials are found per service line, not from CLP02 = 4 alone: a line with positive
adjustments that are neither patient responsibility (PR) nor contractual (CO-45/59/253 ...)
and that was paid less than charged is a denial, even on a paid claim.  A claim-level CAS of
that kind opens a claim-level item.  Reversals (CLP02 = 22) never open an item; each is
paired with its correction (same CLP01 or CLP07, in the same file or a later one).  When a
later remit pays a line (paid > 0, no denial adjustment left), the open item for that claim
line closes itself (``resolved``, event ``auto_resolved``).  A line denied again while its
item is open adds a ``seen_again`` event to that item rather than a second item.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from edi.errors import X12Error
from edi.x835 import Adjustment, ClaimPayment, Parser835, RemitHeader, RemitTrailer
from remits.classify import Classification, classify
from remits.priority import blended_recoverability, deadline_for, payer_type_for, priority
from remits.worklist import (
    OPEN_STATUSES,
    SYSTEM_USER,
    add_event,
    auto_resolve,
    category_history,
    find_open_items,
    now,
    refresh_priorities_if_due,
)
from store import session_scope
from store.bulk import Row, WritePipeline, assign_ids, insert_rows, update_by_id
from store.records import add_line_totals, link_submitted, newest_submitted_ids
from store.remits import (
    RemitAdjustment,
    RemitClaim,
    RemitFile,
    RemitLine,
    RemitPayment,
    RemitPLB,
    RemitRemark,
    WorkItem,
    WorkItemEvent,
)

ZERO = Decimal(0)
MAX_REASON_FINDINGS = 5


class IngestError(Exception):
    """The file cannot be ingested (unreadable, unknown quarantine id ...)."""


@dataclass
class IngestResult:
    path: str
    sha256: str
    status: str                      # ingested | duplicate | quarantined | released
    file_id: int | None = None
    reason: str = ""
    transactions: int = 0
    transactions_skipped: int = 0
    claims: int = 0
    items_created: int = 0
    items_resolved: int = 0
    items_seen_again: int = 0
    reversals: int = 0
    reversals_paired: int = 0
    findings: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def summary(self) -> str:
        name = os.path.basename(self.path)
        if self.status == "duplicate":
            return f"{name}: already ingested (nothing new)"
        if self.status == "quarantined":
            return f"{name}: QUARANTINED as #{self.file_id}: {self.reason}"
        return (f"{name}: {self.status} #{self.file_id}: {self.claims} claims, {self.items_created} new items, "
                f"{self.items_resolved} resolved, {self.reversals} reversals ({self.reversals_paired} paired)"
                + (f", {self.transactions_skipped} known payments skipped" if self.transactions_skipped else ""))


def sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _balance_findings(source: str | os.PathLike[str] | bytes, name: str) -> list[dict[str, Any]]:
    parser = Parser835(source, name)
    for _ in parser.events():
        pass
    return [f.as_dict() for f in parser.balance_findings]


def _reason(findings: list[dict[str, Any]]) -> str:
    parts = [str(f["message"]) for f in findings[:MAX_REASON_FINDINGS]]
    more = len(findings) - MAX_REASON_FINDINGS
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def ingest_835_file(engine: Engine, path: str | os.PathLike[str], *, settings: Any | None = None,
                    today: date | None = None) -> IngestResult:
    """Ingest one 835 file (see the module docstring).  X12 errors propagate as
    :class:`edi.errors.X12Error` with nothing stored."""
    p = Path(path)
    name = str(p)
    digest = sha256_file(p)
    result = IngestResult(name, digest, "ingested")
    with session_scope(engine) as s:
        if s.scalar(select(RemitFile.id).where(RemitFile.sha256 == digest)) is not None:
            result.status = "duplicate"
            return result
    # one pass: the file is stored as it is read and balanced; a file that does not balance is rolled
    # back whole and quarantined instead (balanced files are the rule, so they are read only once)
    parser = Parser835(p, name)
    try:
        with session_scope(engine) as s:
            row = RemitFile(sha256=digest, name=p.name, kind="835", size=p.stat().st_size, received_at=now(),
                            status="ingested")
            s.add(row)
            s.flush()
            result.file_id = row.id
            try:
                _store(s, row, parser, result, settings, today or date.today())
            except X12Error:
                raise
            except Exception:
                if parser.balance_findings:   # it failed on a file that does not balance: quarantine it
                    raise _Unbalanced(_balance_findings(p, name)) from None
                raise
            if parser.balance_findings:
                raise _Unbalanced([f.as_dict() for f in parser.balance_findings])
            if result.transactions and result.transactions == result.transactions_skipped:
                raise _AllKnown
    except _Unbalanced as unbalanced:
        return _quarantine(engine, p, digest, unbalanced.findings)
    except _AllKnown:
        result.status = "duplicate"
        result.file_id = None
    except IntegrityError:
        result.status = "duplicate"
        result.file_id = None
    return result


def _quarantine(engine: Engine, p: Path, digest: str, findings: list[dict[str, Any]]) -> IngestResult:
    """Keep a file that does not balance, with its reason and raw content, and nothing else."""
    content = p.read_bytes()
    result = IngestResult(str(p), digest, "quarantined", reason=_reason(findings), findings=findings)
    try:
        with session_scope(engine) as s:
            row = RemitFile(sha256=digest, name=p.name, kind="835", size=len(content), received_at=now(),
                            status="quarantined", reason=result.reason, findings=json.dumps(findings),
                            content=content)
            s.add(row)
            s.flush()
            result.file_id = row.id
    except IntegrityError:
        result.status = "duplicate"
    return result


class _Unbalanced(Exception):
    """The file breaks a balancing rule: roll back what was stored of it and quarantine it."""

    def __init__(self, findings: list[dict[str, Any]]) -> None:
        super().__init__("unbalanced")
        self.findings = findings


class _AllKnown(Exception):
    """Every payment of the file is already stored: roll back the file row."""


def release_quarantined(engine: Engine, file_id: int, *, user: str, settings: Any | None = None,
                        today: date | None = None) -> IngestResult:
    """Ingest a quarantined file as it is (the user accepts the imbalance); items are made now."""
    with session_scope(engine) as s:
        row = s.get(RemitFile, file_id)
        if row is None or row.status != "quarantined" or row.content is None:
            raise IngestError(f"no quarantined remit file #{file_id}")
        result = IngestResult(row.name, row.sha256, "released", file_id=row.id, reason=row.reason or "")
        row.status = "released"
        row.released_at = now()
        row.released_by = user
        _store(s, row, Parser835(row.content, row.name), result, settings, today or date.today())
        return result


def quarantined_files(session: Session, *, include_released: bool = False) -> list[RemitFile]:
    statuses = ("quarantined", "released") if include_released else ("quarantined",)
    return list(session.scalars(select(RemitFile).where(RemitFile.status.in_(statuses)).order_by(RemitFile.id)))


# ------------------------------------------------------------------------------------------
# Storing one parsed file
# ------------------------------------------------------------------------------------------


#: Claims per bulk write: rows of this many claims are collected, then written per table in one
#: executemany each (ids via RETURNING), so memory stays flat whatever the file's size.
BATCH_CLAIMS = 2000


class _Batch:
    """The rows of the claims read since the last write (see :mod:`store.bulk`)."""

    def __init__(self) -> None:
        self.pipeline: WritePipeline | None = None   # PostgreSQL: writes run while the next batch is read
        self._clear()

    def _clear(self) -> None:
        self.claims: list[Row] = []
        self.lines: list[Row] = []
        self.adjustments: list[Row] = []
        self.remarks: list[Row] = []
        self.plb: list[Row] = []
        self.items: list[Row] = []
        self.events: list[Row] = []
        self.pairs: list[tuple[Row, Row]] = []     # (reversal, correction), both remit_claims rows

    def __len__(self) -> int:
        return len(self.claims)

    def write(self, s: Session) -> None:
        if not (self.claims or self.lines or self.adjustments or self.remarks or self.plb or self.items
                or self.events or self.pairs):
            return
        s.flush()   # ORM changes to existing items (auto-resolution, events) go first
        conn = s.connection()
        claims, lines, adjustments, remarks, plb = self.claims, self.lines, self.adjustments, self.remarks, self.plb
        items, events = self.items, self.events
        # ids now (the reader goes on with them: auto-resolution, pairing, events of these rows)
        assign_ids(conn, RemitClaim.__table__, claims)  # type: ignore[arg-type]
        assign_ids(conn, RemitLine.__table__, lines)  # type: ignore[arg-type]
        assign_ids(conn, WorkItem.__table__, items)  # type: ignore[arg-type]
        totals = _line_totals(lines)
        pairs: list[tuple[int, Any]] = []
        for rev, corr in self.pairs:
            assert rev.id is not None and corr.id is not None
            pairs += [(rev.id, corr.id), (corr.id, rev.id)]
        self._clear()

        def work() -> None:
            insert_rows(conn, RemitClaim.__table__, claims)  # type: ignore[arg-type]
            insert_rows(conn, RemitLine.__table__, lines)  # type: ignore[arg-type]
            add_line_totals(conn, totals)
            insert_rows(conn, RemitAdjustment.__table__, adjustments)  # type: ignore[arg-type]
            insert_rows(conn, RemitRemark.__table__, remarks)  # type: ignore[arg-type]
            insert_rows(conn, RemitPLB.__table__, plb)  # type: ignore[arg-type]
            claim_ids = [i["claim_id"] for i in items]
            newest = newest_submitted_ids(conn, claim_ids)
            for i in items:     # the claim as sent, if dermedi sent it (corrected claims start from it)
                i["submitted_claim_id"] = newest.get(i["claim_id"])
            insert_rows(conn, WorkItem.__table__, items)  # type: ignore[arg-type]
            link_submitted(conn, claim_ids)     # older items of these claims that had no copy yet
            insert_rows(conn, WorkItemEvent.__table__, events)  # type: ignore[arg-type]
            update_by_id(conn, RemitClaim.__table__, "paired_with_id", pairs)  # type: ignore[arg-type]

        if self.pipeline is not None:
            self.pipeline.submit(work)
        else:
            work()


def _line_totals(lines: list[Row]) -> dict[Any, list[int]]:
    """The lines of a batch added up per remit date (reversals left out), for ``remit_line_totals``."""
    out: dict[Any, list[int]] = {}
    for ln in lines:
        claim = ln["remit_claim_id"]
        if claim["is_reversal"]:
            continue
        acc = out.setdefault(claim["remit_date"], [0, 0, 0, 0])
        acc[0] += 1
        if ln["denied_amount"] > 0 and ln["paid"] < ln["charge"]:
            acc[1] += 1
        acc[2] += int((ln["charge"] * 100).to_integral_value())
        acc[3] += int((ln["denied_amount"] * 100).to_integral_value())
    return out


@dataclass
class _Ctx:
    session: Session
    file: RemitFile
    result: IngestResult
    settings: Any
    today: date
    history: dict[tuple[str, str], tuple[int, int]]
    batch: _Batch = field(default_factory=_Batch)
    payment_id: int | None = None
    payer_key: str = ""
    payer_name: str = ""
    trace: str = ""
    header: RemitHeader | None = None
    skip: bool = False
    reversals: dict[str, Row] = field(default_factory=dict)
    # claim ids with open items / keys of unpaired stored reversals for the current payer, so
    # that most claims need no look-up query
    open_claims: set[str] = field(default_factory=set)
    stored_reversals: set[str] = field(default_factory=set)
    paired: set[int] = field(default_factory=set)      # ids of stored reversals paired by this file
    classified: dict[tuple[Any, ...], Classification] = field(default_factory=dict)
    payer_types: dict[tuple[str, str], str] = field(default_factory=dict)


def _events(parser: Parser835) -> Iterator[Any]:
    yield from parser.events()


#: On PostgreSQL, a batch is written by a thread while the next is read (store.bulk.WritePipeline).
PIPELINE = True


def _store(s: Session, file: RemitFile, parser: Parser835, result: IngestResult, settings: Any,
           today: date) -> None:
    conn = s.connection()
    pipeline = WritePipeline(conn) if PIPELINE and conn.dialect.name == "postgresql" else None
    try:
        _store_in(s, file, parser, result, settings, today, pipeline)
    except BaseException:
        if pipeline is not None:
            pipeline.close(failed=True)
        raise
    if pipeline is not None:
        pipeline.close()


def _store_in(s: Session, file: RemitFile, parser: Parser835, result: IngestResult, settings: Any,
              today: date, pipeline: WritePipeline | None) -> None:
    ctx = _Ctx(s, file, result, settings, today, category_history(s))
    ctx.batch.pipeline = pipeline
    for ev in _events(parser):
        if isinstance(ev, RemitHeader):
            ctx.batch.write(s)
            _on_header(ctx, ev)
        elif isinstance(ev, ClaimPayment):
            if not ctx.skip:
                _on_claim(ctx, ev)
                if len(ctx.batch) >= BATCH_CLAIMS:
                    ctx.batch.write(s)
        elif isinstance(ev, RemitTrailer):
            if not ctx.skip and ctx.payment_id is not None:
                for plb in ev.provider_adjustments:
                    ctx.batch.plb.append(Row({
                        "payment_id": ctx.payment_id, "provider_id": plb.provider_id[:50],
                        "reason": plb.reason[:4], "reference": plb.reference[:80], "amount": plb.amount}))
            ctx.batch.write(s)
            ctx.payment_id = None
            ctx.header = None
            ctx.skip = False
    ctx.batch.write(s)
    file.transactions = result.transactions
    file.claims = result.claims
    file.items_created = result.items_created
    s.flush()
    # the 835 answers the claims' no_response follow-ups (remits.aging): they close themselves
    from remits.aging import close_answered

    result.items_resolved += close_answered(s, remit_file_id=file.id)
    refresh_priorities_if_due(s, today)


def _payer_key(h: RemitHeader) -> str:
    return (h.payer_id or h.trace_payer_id or h.payer_name)[:80]


def _on_header(ctx: _Ctx, h: RemitHeader) -> None:
    ctx.result.transactions += 1
    key = _payer_key(h)
    trace = h.trace_number or ""
    s = ctx.session
    if trace and s.scalar(select(RemitPayment.id).where(
            RemitPayment.payer_key == key, RemitPayment.trace_number == trace)) is not None:
        ctx.result.transactions_skipped += 1
        ctx.skip = True
        return
    pay = Row({
        "file_id": ctx.file.id, "st_control": h.control_number[:9], "payer_key": key,
        "payer_id": (h.payer_id or "")[:80], "payer_name": (h.payer_name or "")[:120], "trace_number": trace[:80],
        "trace_payer_id": (h.trace_payer_id or "")[:20],
        "total_payment": h.total_payment if h.total_payment is not None else ZERO,
        "credit_debit": h.credit_debit[:2], "method": h.payment_method[:3], "payment_date": h.payment_date,
        "production_date": h.production_date, "payee_npi": h.payee_npi[:20], "payee_name": (h.payee_name or "")[:120]})
    insert_rows(s.connection(), RemitPayment.__table__, [pay], returning_ids=True)  # type: ignore[arg-type]
    ctx.payment_id = pay.id
    ctx.payer_key = key
    ctx.payer_name = pay["payer_name"]
    ctx.trace = pay["trace_number"]
    ctx.header = h
    ctx.skip = False
    ctx.open_claims = set(s.scalars(select(WorkItem.claim_id).where(
        WorkItem.status.in_(OPEN_STATUSES), WorkItem.payer_id.in_((key, "")))))
    ctx.stored_reversals = set()
    for cid, ccn in s.execute(
            select(RemitClaim.claim_id, RemitClaim.payer_claim_number)
            .join(RemitPayment, RemitClaim.payment_id == RemitPayment.id)
            .where(RemitClaim.is_reversal.is_(True), RemitClaim.paired_with_id.is_(None),
                   RemitPayment.payer_key == key)):
        ctx.stored_reversals.add(cid)
        if ccn:
            ctx.stored_reversals.add(f"#{ccn}")


def _remit_date(h: RemitHeader, today: date) -> date:
    return h.payment_date or h.production_date or today


def _dec(v: Decimal | None) -> Decimal:
    return v if v is not None else ZERO


def _classify_all(ctx: _Ctx, adjs: list[Adjustment], rarcs: list[str], procedure: str, modifiers: list[str],
                  remit_date: date) -> list[tuple[Adjustment, Classification]]:
    """Each adjustment classified; the same codes on the same kind of line give the same (immutable)
    answer, so it is worked out once per file and reused."""
    if not adjs:
        return []
    memo = ctx.classified
    context = (tuple(rarcs), procedure, tuple(modifiers), remit_date)
    out = []
    for a in adjs:
        negative = a.amount is not None and a.amount < 0
        key = (a.group, a.reason, negative, context)
        k = memo.get(key)
        if k is None:
            k = memo[key] = classify(a.group, a.reason, rarcs, amount=a.amount, procedure=procedure,
                                     modifiers=modifiers, remit_date=remit_date)
        out.append((a, k))
    return out


def _remark_row(claim: Row, line: Row | None, r: Any) -> Row:
    return Row({"remit_claim_id": claim, "remit_line_id": line, "code": r.code[:30], "source": r.source[:4],
                "qualifier": r.qualifier[:6]})


def _on_claim(ctx: _Ctx, c: ClaimPayment) -> None:
    assert ctx.payment_id is not None and ctx.header is not None
    b = ctx.batch
    ctx.result.claims += 1
    rdate = _remit_date(ctx.header, ctx.today)
    claim_rarcs = [r.code for r in c.remarks if r.is_rarc]
    rc = Row({"payment_id": ctx.payment_id, "claim_id": c.claim_id[:38], "status": c.status[:3],
              "charge": _dec(c.charge), "paid": _dec(c.paid), "patient_responsibility": c.patient_responsibility,
              "payer_claim_number": c.payer_claim_number[:50], "filing_indicator": c.filing_indicator[:3],
              "frequency_code": (c.frequency_code or "")[:2], "remit_date": rdate, "is_reversal": c.is_reversal,
              "paired_with_id": None, "segment_number": c.first_segment_number})
    b.claims.append(rc)
    for r in c.remarks:
        b.remarks.append(_remark_row(rc, None, r))
    claim_cls = _classify_all(ctx, c.adjustments, claim_rarcs, "", [], rdate)
    for a, k in claim_cls:
        b.adjustments.append(_adj_row(rc, None, a, k))
    line_rows: list[tuple[Row, list[tuple[Adjustment, Classification]], list[str]]] = []
    for ln in c.lines:
        rarcs = ln.rarcs + [r for r in claim_rarcs if r not in ln.rarcs]
        cls = _classify_all(ctx, ln.adjustments, rarcs, ln.code, ln.modifiers, rdate)
        denied = sum((a.amount for a, k in cls if k.is_denial), ZERO)
        rl = Row({"remit_claim_id": rc, "line_number": ln.index, "control_number": ln.control_number[:50],
                  "procedure": ln.code[:48], "modifiers": ",".join(ln.modifiers)[:20], "charge": _dec(ln.charge),
                  "paid": _dec(ln.paid), "units": ln.units, "allowed": ln.allowed,
                  "service_date": ln.service_date or c.statement_period[0], "denied_amount": denied})
        b.lines.append(rl)
        for r in ln.remarks:
            b.remarks.append(_remark_row(rc, rl, r))
        for a, k in cls:
            b.adjustments.append(_adj_row(rc, rl, a, k))
        line_rows.append((rl, cls, rarcs))
    if c.is_reversal:
        ctx.result.reversals += 1
        _pair_reversal(ctx, rc)
        return
    _pair_correction(ctx, rc)
    open_items: list[WorkItem] = []
    if rc["claim_id"] in ctx.open_claims:
        # an open item of this claim may be in the batch: write it first, then look it up
        ctx.batch.write(ctx.session)
        open_items = find_open_items(ctx.session, rc["claim_id"], ctx.payer_key)
    # lines: close paid ones, open denied ones
    for rl, cls, rarcs in line_rows:
        denials = [(a, k) for a, k in cls if k.is_denial and a.amount > 0]
        match = _match_line(open_items, rl)
        if not denials:
            if rl["paid"] > 0 and match is not None:
                _auto_resolve(ctx, match, rc, f"paid {rl['paid']} in remit {ctx.trace} ({rdate.isoformat()})")
                open_items.remove(match)
            continue
        if rl["paid"] >= rl["charge"]:
            continue
        if match is not None:
            _seen_again(ctx, match, denials, rdate)
            continue
        _open_item(ctx, c, rc, rl, denials, rarcs, rdate)
    claim_denials = [(a, k) for a, k in claim_cls if k.is_denial and a.amount > 0]
    claim_match = next((i for i in open_items if i.line_number is None), None)
    if claim_denials:
        if claim_match is not None:
            _seen_again(ctx, claim_match, claim_denials, rdate)
        else:
            _open_item(ctx, c, rc, None, claim_denials, claim_rarcs, rdate)
    elif claim_match is not None and rc["paid"] > 0:
        _auto_resolve(ctx, claim_match, rc, f"claim paid {rc['paid']} in remit {ctx.trace} ({rdate.isoformat()})")


def _auto_resolve(ctx: _Ctx, item: WorkItem, rc: Row, note: str) -> None:
    """Close an open item the remit pays; the remit claim row is written first (its id is kept)."""
    if rc.id is None:
        ctx.batch.write(ctx.session)
    auto_resolve(ctx.session, item, remit_claim_id=rc.id, note=note)
    ctx.result.items_resolved += 1


def _adj_row(claim: Row, line: Row | None, a: Adjustment, k: Classification) -> Row:
    return Row({"remit_claim_id": claim, "remit_line_id": line, "group_code": a.group[:2], "carc": a.reason[:5],
                "carc_routed": k.carc[:5], "amount": a.amount, "quantity": a.quantity, "kind": k.kind,
                "category": k.category, "action": k.action, "route": k.route[:40]})


def _match_line(items: list[WorkItem], rl: Row) -> WorkItem | None:
    """The open item for this claim line: same REF*6R control number, else same procedure (and
    service date when both are known), else same line number."""
    line_items = [i for i in items if i.line_number is not None]
    if rl["control_number"]:
        for i in line_items:
            if i.line_control and i.line_control == rl["control_number"]:
                return i
    for i in line_items:
        if i.procedure == rl["procedure"] and (i.service_date is None or rl["service_date"] is None
                                               or i.service_date == rl["service_date"]):
            return i
    return None


def _primary(denials: list[tuple[Adjustment, Classification]]) -> tuple[Adjustment, Classification]:
    best = denials[0]
    for d in denials[1:]:
        if d[0].amount > best[0].amount:
            best = d
    return best


def _open_item(ctx: _Ctx, c: ClaimPayment, rc: Row, rl: Row | None,
               denials: list[tuple[Adjustment, Classification]], rarcs: list[str], rdate: date) -> None:
    a, k = _primary(denials)
    amount = sum((d[0].amount for d in denials), ZERO)
    if rl is not None:
        amount = min(amount, rl["charge"] - rl["paid"]) if rl["charge"] > rl["paid"] else amount
    payer_id = ctx.payer_key
    ptype = ctx.payer_types.get((payer_id, c.filing_indicator))
    if ptype is None:
        ptype = ctx.payer_types[(payer_id, c.filing_indicator)] = payer_type_for(payer_id, c.filing_indicator,
                                                                                 ctx.settings)
    service_date = rl["service_date"] if rl is not None else c.statement_period[0]
    deadline = deadline_for(rdate, payer_id, ptype, action=k.action, service_date=service_date,
                            settings=ctx.settings)
    others = sorted({f"{d[0].group}-{d[0].reason}" for d in denials} - {f"{a.group}-{a.reason}"})
    resolved, written_off = ctx.history.get((payer_id, k.category), (0, 0))
    at = now()
    item = Row({
        "source": "835", "claim_id": rc["claim_id"], "line_number": rl["line_number"] if rl is not None else None,
        "line_control": rl["control_number"] if rl is not None else "",
        "procedure": rl["procedure"] if rl is not None else "", "modifiers": rl["modifiers"] if rl is not None else "",
        "service_date": service_date, "group_code": a.group[:2], "carc": k.carc[:5], "carc_sent": a.reason[:5],
        "rarcs": ",".join(dict.fromkeys(rarcs))[:200], "other_codes": ",".join(others)[:200],
        "category": k.category, "action": k.action, "route": k.route[:40],
        "fix": f"{k.fix.kind}:{k.fix.value}" if k.fix else "", "amount": amount,
        "charge": rl["charge"] if rl is not None else rc["charge"], "payer_id": payer_id,
        "payer_name": ctx.payer_name, "payer_type": ptype, "payer_claim_number": rc["payer_claim_number"],
        "remit_date": rdate, "deadline": deadline,
        "priority": priority(amount, k.category, deadline, ctx.today,
                             blended_recoverability(k.category, resolved, written_off)),
        "status": "new", "owner": None, "created_at": at, "updated_at": at, "remit_file_id": ctx.file.id,
        "remit_claim_id": rc, "remit_line_id": rl, "resolved_by_remit_claim_id": None, "submitted_claim_id": None})
    ctx.batch.items.append(item)
    ctx.open_claims.add(rc["claim_id"])
    note = f"{a.group}-{a.reason}" + (f" ({','.join(rarcs)})" if rarcs else "")
    note += f" in remit {ctx.trace}"
    if k.deactivated:
        note += f"; deactivated CARC {k.carc_sent} read as {k.carc}"
    ctx.batch.events.append(Row({"item_id": item, "at": at, "actor": SYSTEM_USER, "event": "created",
                                 "from_status": None, "to_status": "new", "note": note}))
    ctx.result.items_created += 1


def _seen_again(ctx: _Ctx, item: WorkItem, denials: list[tuple[Adjustment, Classification]], rdate: date) -> None:
    codes = ",".join(f"{a.group}-{a.reason}" for a, _ in denials)
    add_event(ctx.session, item, "seen_again",
              note=f"denied again ({codes}) in remit {ctx.trace} of {rdate.isoformat()}")
    ctx.result.items_seen_again += 1


def _pair_reversal(ctx: _Ctx, rc: Row) -> None:
    """Remember the reversal; pair it when its correction comes (same file or later)."""
    ctx.reversals[rc["claim_id"]] = rc
    if rc["payer_claim_number"]:
        ctx.reversals[f"#{rc['payer_claim_number']}"] = rc


def _pair_correction(ctx: _Ctx, rc: Row) -> None:
    """Pair a non-reversal claim with the unpaired reversal of the same claim (CLP01 or CLP07):
    first one earlier in this file, else a stored one of the same payer."""
    ccn = rc["payer_claim_number"]
    ccn_key = f"#{ccn}" if ccn else ""
    rev = ctx.reversals.get(rc["claim_id"]) or (ctx.reversals.get(ccn_key) if ccn_key else None)
    if rev is not None:
        ctx.reversals.pop(rev["claim_id"], None)
        if rev["payer_claim_number"]:
            ctx.reversals.pop(f"#{rev['payer_claim_number']}", None)
        ctx.batch.pairs.append((rev, rc))
        ctx.result.reversals_paired += 1
        return
    if not (rc["claim_id"] in ctx.stored_reversals or (ccn_key and ccn_key in ctx.stored_reversals)):
        return
    match = RemitClaim.claim_id == rc["claim_id"]
    if ccn:
        match = match | (RemitClaim.payer_claim_number == ccn)
    query = (select(RemitClaim.id).join(RemitPayment, RemitClaim.payment_id == RemitPayment.id)
             .where(RemitClaim.is_reversal.is_(True), RemitClaim.paired_with_id.is_(None),
                    RemitPayment.payer_key == ctx.payer_key, match)
             .order_by(RemitClaim.id.desc()))
    if ctx.paired:
        query = query.where(RemitClaim.id.not_in(ctx.paired))
    stored = ctx.session.scalar(query.limit(1))
    if stored is None:
        return
    ref = Row({})
    ref.id = int(stored)
    ctx.paired.add(ref.id)
    ctx.batch.pairs.append((ref, rc))
    ctx.result.reversals_paired += 1


def reversal_pairs(session: Session) -> list[tuple[RemitClaim, RemitClaim | None]]:
    """(reversal, correction or None) for every stored reversal."""
    out: list[tuple[RemitClaim, RemitClaim | None]] = []
    for rev in session.scalars(select(RemitClaim).where(RemitClaim.is_reversal.is_(True)).order_by(RemitClaim.id)):
        corr = session.get(RemitClaim, rev.paired_with_id) if rev.paired_with_id else None
        out.append((rev, corr))
    return out
