"""Acknowledgment watch and claim aging: no submission or claim goes silent.

For every file sent (``ch_submissions.sent_at``) and every claim in it dermedi expects three
answers; the windows are per clearinghouse (:class:`config.settings.ClearinghouseProfile`):

* the **999** for the file, within ``ack_999_business_days`` business days (default 1; weekends and
  US federal holidays are not counted, :mod:`config.calendar`): a file sent on Friday and answered
  on Monday is on time, one still unanswered on Tuesday is late;
* the **277CA** for each claim the 999 did not reject, within ``ack_277ca_days`` days (default 3);
  an 835 for the claim counts as an answer too (the payer had it).  Claims of a file still
  waiting for its 999 are not listed one by one: the file's late 999 is the alert;
* the **835** for each claim neither rejected by the 999 nor by a 277CA, within
  ``remit_days_medicare`` (30) or ``remit_days_other`` (45) days, by the payer's type.

Days are counted on UTC dates from the sending date: ``as_of`` (a date, default today) is the day
asked about; an answer counts when it was received before the end of ``as_of``.  A claim sent again
later (same claim id) is watched from its latest sending only.

What is late is derived from the ledger's timestamps with SQL (``EXISTS`` on indexed columns, the
business-day cut-off computed once in Python); nothing is stored for it.  Stored are only the
alerts already announced (``ack_alerts``, so that the scheduler logs each newly late item once)
and the per-claim 277CA answers (``claim_acks``, written by :func:`remits.frontend.ingest_277ca`).

* :func:`late_items` (engine, as_of) - late 999s, late 277CAs, claims without an 835, unresolved rejections
  (a 999 or TA1 that rejected a file, with its reason; it stays until its claims are sent again).
* :func:`watch` - record new alerts (returning them, for one log line each), open a
  ``no_response`` worklist item for each claim with no 835 after its window, close the ones
  whose 835 has come.
* :func:`close_answered` - close the ``no_response`` items of the claims of one 835 file (called by
  the 835 ingest in the same transaction).
* :func:`aging` - outstanding claims (sent, not rejected, no 835 yet) by payer in the buckets
  0-30, 31-60, 61-90, 91-120, > 120 days since the claim was FIRST sent, with amounts (the claim's
  total charge), aggregated in SQL; :func:`aging_report` (engine, as_of) for the web dashboard.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, and_, case, exists, func, literal, not_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from config.calendar import add_business_days, latest_start_due_before
from config.settings import AnswerWindows
from remits.priority import payer_type_for, priority
from remits.worklist import OPEN_STATUSES, add_event, auto_resolve, now
from store import session_scope
from store.acks import AckAlert, ClaimAck
from store.ledger import ResponseFile, Submission, SubmissionClaim
from store.remits import RemitClaim, RemitFile, RemitPayment, SubmittedClaim, WorkItem

log = logging.getLogger("dermedi.remits.aging")

ZERO = Decimal(0)
CENTS = Decimal("0.00")
REJECT_CODES: tuple[str, ...] = ("R", "M", "W", "X")
WAITING_STATES: tuple[str, ...] = ("sent", "accepted", "partial")
NO_RESPONSE = "no_response"
FOLLOW_UP = "follow_up"
BUCKETS: tuple[str, ...] = ("0-30", "31-60", "61-90", "91-120", ">120")
ACK_TEXT = {"R": "rejected", "M": "rejected: message authentication code failed",
            "W": "rejected: assurance failed validity tests", "X": "rejected: content could not be analyzed",
            "TR": "interchange rejected by a TA1"}
TA1_NOTES = {
    "000": "no error", "001": "interchange control numbers in header and trailer do not match",
    "002": "standard not supported", "003": "version of the controls not supported",
    "004": "segment terminator invalid", "005": "invalid interchange ID qualifier for sender",
    "006": "invalid interchange sender ID", "007": "invalid interchange ID qualifier for receiver",
    "008": "invalid interchange receiver ID", "009": "unknown interchange receiver ID",
    "010": "invalid authorization information qualifier", "011": "invalid authorization information value",
    "012": "invalid security information qualifier", "013": "invalid security information value",
    "014": "invalid interchange date", "015": "invalid interchange time", "016": "invalid interchange standards ID",
    "017": "invalid interchange version ID", "018": "invalid interchange control number",
    "019": "invalid acknowledgment requested value", "020": "invalid test indicator value",
    "021": "invalid number of included groups value", "022": "invalid control structure",
    "023": "improper (premature) end-of-file", "024": "invalid interchange content",
    "025": "duplicate interchange control number", "026": "invalid data element separator",
    "027": "invalid component element separator", "028": "invalid delivery date in deferred delivery request",
    "029": "invalid delivery time in deferred delivery request",
    "030": "invalid delivery time code in deferred delivery request", "031": "invalid grade of service code",
}


# ------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class LateFile:
    """A file with no 999 after its window."""

    submission_id: int
    clearinghouse: str
    isa13: str
    remote_name: str
    claims: int
    sent: date
    due: date
    business_days_window: int

    @property
    def key(self) -> tuple[str, int, str]:
        return ("999_late", self.submission_id, "")

    def line(self) -> str:
        return (f"999 late: {self.clearinghouse} file {self.remote_name} (ISA13 {self.isa13}, {self.claims} claims) "
                f"sent {self.sent.isoformat()}, due {self.due.isoformat()}")


@dataclass(slots=True)
class LateClaim:
    """A claim with no 277CA (``kind`` 277CA) or no 835 (``kind`` 835) after its window."""

    kind: str
    submission_id: int
    clearinghouse: str
    claim_id: str
    claim_row: int               # ch_submission_claims.id: names the claim in logs without its CLM01
    sent: date
    due: date
    days_outstanding: int
    payer_id: str = ""
    payer_type: str = ""
    amount: Decimal = ZERO

    @property
    def key(self) -> tuple[str, int, str]:
        return ("277ca_late" if self.kind == "277CA" else "835_late", self.submission_id, self.claim_id)

    def line(self) -> str:
        """For logs and the alert table: the ledger row, not the claim id (a patient account number)."""
        return (f"{self.kind} late: {self.clearinghouse} claim #{self.claim_row} of file #{self.submission_id} "
                f"sent {self.sent.isoformat()}, due {self.due.isoformat()}, {self.days_outstanding} days outstanding")


@dataclass(slots=True)
class Rejection:
    """A file a 999 rejected (all of it, or some transaction sets: ``partial``) or a TA1 rejected."""

    kind: str                    # 999_rejected | ta1_rejected
    submission_id: int
    clearinghouse: str
    isa13: str
    remote_name: str
    code: str
    acked: date | None
    reason: str
    claims: list[str] = field(default_factory=list)   # rejected claims not sent again since

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.kind, self.submission_id, "")

    def line(self) -> str:
        what = "TA1 rejected interchange" if self.kind == "ta1_rejected" else "999 rejected"
        return (f"{what}: {self.clearinghouse} file {self.remote_name} (ISA13 {self.isa13}) code {self.code}: "
                f"{self.reason}; {len(self.claims)} claim(s) to send again")


@dataclass(slots=True)
class LateReport:
    as_of: date
    files: list[LateFile] = field(default_factory=list)
    claims_277ca: list[LateClaim] = field(default_factory=list)
    claims_835: list[LateClaim] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def alerts(self) -> int:
        """Late 999s and 277CAs and unresolved rejections (claims awaiting an 835 are worklist items)."""
        return len(self.files) + len(self.claims_277ca) + len(self.rejections)

    def as_dict(self) -> dict[str, Any]:
        def conv(obj: Any) -> dict[str, Any]:
            d = asdict(obj)
            return {k: (v.isoformat() if isinstance(v, date) else str(v) if isinstance(v, Decimal) else v)
                    for k, v in d.items()}

        return {"as_of": self.as_of.isoformat(), "alerts": self.alerts,
                "late_999": [conv(f) for f in self.files],
                "late_277ca": [conv(c) for c in self.claims_277ca],
                "no_835": [conv(c) for c in self.claims_835],
                "rejections": [conv(r) for r in self.rejections]}


# ------------------------------------------------------------------------------------------
# Shared SQL pieces
# ------------------------------------------------------------------------------------------


def _today() -> date:
    return datetime.now(UTC).date()


def _start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _utc_date(ts: datetime | None) -> date:
    assert ts is not None           # only called on rows selected with the timestamp set
    if ts.tzinfo is None:            # SQLite returns naive UTC datetimes
        return ts.date()
    return ts.astimezone(UTC).date()


def _superseded(sc: Any) -> Any:
    """The claim was sent again later (to any clearinghouse: the later sending is the one to watch).

    By claim id alone (``ix_ch_submission_claims_claim_id``): a clearinghouse condition here lets
    PostgreSQL without statistics AND in the (clearinghouse, claim_sha256) index, a scan of every
    row of the clearinghouse per claim."""
    later = aliased(SubmissionClaim)
    later_sub = aliased(Submission)
    return exists(select(later.id).join(later_sub, later_sub.id == later.submission_id).where(
        later.claim_id == sc.claim_id, later.id > sc.id, later_sub.sent_at.is_not(None)))


def _has_835(sc: Any, sub: Any, until: datetime) -> Any:
    return exists(select(RemitClaim.id).join(RemitPayment, RemitPayment.id == RemitClaim.payment_id)
                  .join(RemitFile, RemitFile.id == RemitPayment.file_id).where(
        RemitClaim.claim_id == sc.claim_id, RemitClaim.is_reversal.is_(False), RemitFile.received_at >= sub.sent_at,
        RemitFile.received_at < until))


def _has_277(sc: Any, sub: Any, until: datetime, status: str | None = None) -> Any:
    q = select(ClaimAck.id).where(ClaimAck.claim_id == sc.claim_id, ClaimAck.received_at >= sub.sent_at,
                                  ClaimAck.received_at < until)
    if status is not None:
        q = q.where(ClaimAck.status == status)
    return exists(q)


def _waiting_claims(sc: Any, sub: Any, until: datetime) -> Any:
    """Claims whose latest sending is on file and that the 999 did not reject."""
    return and_(sub.state.in_(WAITING_STATES), sub.sent_at.is_not(None), sub.sent_at < until,
                or_(sc.ack_code.is_(None), sc.ack_code.not_in(REJECT_CODES)), not_(_superseded(sc)))


def _clearinghouses(session: Session) -> list[str]:
    return list(session.scalars(select(Submission.clearinghouse).distinct().order_by(Submission.clearinghouse)))


def _windows(settings: Any, clearinghouse: str) -> AnswerWindows:
    fn = getattr(settings, "windows_for", None)
    return fn(clearinghouse) if fn is not None else AnswerWindows()


def filing_indicator_of(x12: str) -> str:
    """CLM filing indicator (SBR09) of a one-claim interchange, '' when unreadable."""
    if len(x12) < 106 or not x12.startswith("ISA"):
        return ""
    sep, term = x12[3], x12[105]
    for seg in x12.split(term):
        seg = seg.strip()
        if seg.startswith(f"SBR{sep}"):
            els = seg.split(sep)
            return els[9] if len(els) > 9 else ""
    return ""


def payer_types(session: Session, payer_ids: Iterable[str], settings: Any | None = None) -> dict[str, str]:
    """payer id -> medicare / medicaid / commercial: the payer's profile, else the SBR09 of one
    claim sent to it (one row read per payer)."""
    ids = sorted({p for p in payer_ids if p})
    out: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        firsts = select(func.min(SubmittedClaim.id)).where(SubmittedClaim.payer_id.in_(chunk)).group_by(
            SubmittedClaim.payer_id)
        for pid, x12 in session.execute(select(SubmittedClaim.payer_id, SubmittedClaim.x12).where(
                SubmittedClaim.id.in_(firsts))):
            out[pid] = payer_type_for(pid, filing_indicator_of(x12), settings)
    for pid in ids:
        out.setdefault(pid, payer_type_for(pid, "", settings))
    return out


# ------------------------------------------------------------------------------------------
# What is late
# ------------------------------------------------------------------------------------------


def _late_files(session: Session, ch: str, w: AnswerWindows, as_of: date) -> list[LateFile]:
    cutoff = latest_start_due_before(as_of, w.ack_999_business_days)
    n_claims = (select(func.count(SubmissionClaim.id)).where(SubmissionClaim.submission_id == Submission.id)
                .correlate(Submission).scalar_subquery())
    rows = session.execute(select(Submission.id, Submission.isa13, Submission.remote_name, Submission.sent_at,
                                  n_claims).where(
        Submission.clearinghouse == ch, Submission.state == "sent", Submission.sent_at.is_not(None),
        Submission.sent_at < _start(cutoff + timedelta(days=1))).order_by(Submission.sent_at, Submission.id)).all()
    out = []
    for sid, isa13, name, sent_at, n in rows:
        sent = _utc_date(sent_at)
        out.append(LateFile(sid, ch, f"{isa13:09d}", name, int(n), sent,
                            add_business_days(sent, w.ack_999_business_days), w.ack_999_business_days))
    return out


def _late_277(session: Session, ch: str, w: AnswerWindows, as_of: date, until: datetime) -> list[LateClaim]:
    sc, sub = SubmissionClaim, Submission
    rows = session.execute(select(sub.id, sc.claim_id, sc.id, sub.sent_at).join(sub, sub.id == sc.submission_id).where(
        sub.clearinghouse == ch, _waiting_claims(sc, sub, until),
        sub.state != "sent",       # no 999 yet: the file's own alert says so, not one per claim
        sub.sent_at < _start(as_of - timedelta(days=w.ack_277ca_days)),
        not_(_has_277(sc, sub, until)), not_(_has_835(sc, sub, until))).order_by(sub.sent_at, sc.id)).all()
    out = []
    for sid, claim_id, row_id, sent_at in rows:
        sent = _utc_date(sent_at)
        out.append(LateClaim("277CA", sid, ch, claim_id, row_id, sent, sent + timedelta(days=w.ack_277ca_days),
                             (as_of - sent).days))
    return out


def _no_835(session: Session, ch: str, w: AnswerWindows, as_of: date, until: datetime,
            settings: Any | None) -> list[LateClaim]:
    sc, sub = SubmissionClaim, Submission
    shortest = min(w.remit_days_medicare, w.remit_days_other)
    rows = session.execute(
        select(sub.id, sc.claim_id, sc.id, sub.sent_at, SubmittedClaim.payer_id, SubmittedClaim.total_charge)
        .join(sub, sub.id == sc.submission_id)
        .outerjoin(SubmittedClaim, and_(SubmittedClaim.claim_id == sc.claim_id,
                                        SubmittedClaim.file_sha256 == sub.source_sha256))
        .where(sub.clearinghouse == ch, _waiting_claims(sc, sub, until),
               sub.sent_at < _start(as_of - timedelta(days=shortest)),
               not_(_has_835(sc, sub, until)), not_(_has_277(sc, sub, until, "rejected")))
        .order_by(sub.sent_at, sc.id)).all()
    types = payer_types(session, (r[4] or "" for r in rows), settings)
    out = []
    for sid, claim_id, row_id, sent_at, payer_id, charge in rows:
        sent = _utc_date(sent_at)
        ptype = types.get(payer_id or "", "commercial")
        days = w.remit_days(ptype)
        if (as_of - sent).days <= days:
            continue
        out.append(LateClaim("835", sid, ch, claim_id, row_id, sent, sent + timedelta(days=days), (as_of - sent).days,
                             payer_id or "", ptype, charge if charge is not None else ZERO))
    return out


def _rejection_reason(session: Session, sub: Submission) -> str:
    """What the 999 (IK3/IK4/IK5, no data values) or the TA1 (TA105) said, else the code's meaning."""
    from edi.errors import X12Error

    text_ = ACK_TEXT.get(sub.ack_code or "", "rejected")
    marker = f"ISA13 {sub.isa13:09d}"
    kind = "TA1" if sub.ack_code == "TR" else "999"
    resp = session.scalar(select(ResponseFile).where(
        ResponseFile.clearinghouse == sub.clearinghouse, ResponseFile.kind == kind,
        ResponseFile.detail.like(f"%{marker}%")).order_by(ResponseFile.id.desc()).limit(1))
    if resp is None:
        return text_
    path = Path(resp.local_path)
    try:
        if kind == "TA1":
            from edi.reader import SegmentReader

            for seg in SegmentReader(path, path.name):
                if seg.elements[0] == "TA1" and seg.get(1).strip().isdigit() and int(seg.get(1)) == sub.isa13:
                    note = seg.get(5)
                    return f"{text_}: {TA1_NOTES.get(note, 'error')} [TA105 {note}]"
            return text_
        from edi.x999 import read_999

        parts: list[str] = []
        for g in read_999(path, path.name):
            if g.group_control_number.strip() != str(sub.gs06).strip():
                continue
            parts.extend(t.describe() for t in g.transactions if t.rejected)
            if not parts and g.error_codes:
                parts.append(f"AK9 codes {','.join(g.error_codes)}")
        return f"{text_}: " + " | ".join(parts)[:500] if parts else text_
    except (OSError, X12Error):
        return text_


def _rejections(session: Session, ch: str, until: datetime) -> list[Rejection]:
    sc, sub = SubmissionClaim, Submission
    rows = session.execute(select(sub, sc.claim_id).join(sc, sc.submission_id == sub.id).where(
        sub.clearinghouse == ch, sub.acked_at.is_not(None), sub.acked_at < until,
        or_(sub.state == "rejected", and_(sub.state == "partial", sc.ack_code.in_(REJECT_CODES))),
        not_(_superseded(sc))).order_by(sub.id, sc.id)).all()
    by_sub: dict[int, Rejection] = {}
    for s, claim_id in rows:
        r = by_sub.get(s.id)
        if r is None:
            kind = "ta1_rejected" if s.ack_code == "TR" else "999_rejected"
            r = by_sub[s.id] = Rejection(kind, s.id, ch, f"{s.isa13:09d}", s.remote_name, s.ack_code or "",
                                         _utc_date(s.acked_at) if s.acked_at else None, _rejection_reason(session, s))
        r.claims.append(claim_id)
    return list(by_sub.values())


def late_report(session: Session, as_of: date | None = None, *, settings: Any | None = None,
                clearinghouse: str | None = None, include_no_835: bool = True) -> LateReport:
    """Everything late (or rejected and not yet sent again) on ``as_of`` (see the module docstring)."""
    day = as_of or _today()
    until = _start(day + timedelta(days=1))
    report = LateReport(day)
    for ch in _clearinghouses(session):
        if clearinghouse and ch != clearinghouse:
            continue
        w = _windows(settings, ch)
        report.files += _late_files(session, ch, w, day)
        report.claims_277ca += _late_277(session, ch, w, day, until)
        if include_no_835:
            report.claims_835 += _no_835(session, ch, w, day, until, settings)
        report.rejections += _rejections(session, ch, until)
    return report


def late_items(engine: Engine, as_of: date | None = None, *, settings: Any | None = None,
               clearinghouse: str | None = None) -> LateReport:
    """:func:`late_report` in its own read transaction (for the CLI and the web dashboard)."""
    with session_scope(engine) as s:
        return late_report(s, as_of, settings=settings, clearinghouse=clearinghouse)


# ------------------------------------------------------------------------------------------
# The watch: alerts and no_response items
# ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class WatchResult:
    report: LateReport
    new_alerts: list[str] = field(default_factory=list)     # one line each, no PHI
    items_opened: int = 0
    items_closed: int = 0


def _record_alerts(session: Session, report: LateReport) -> list[str]:
    wanted: list[tuple[tuple[str, int, str], str, str, date | None]] = []
    for f in report.files:
        wanted.append((f.key, f.clearinghouse, f.line(), f.due))
    for c in report.claims_277ca:
        wanted.append((c.key, c.clearinghouse, c.line(), c.due))
    for r in report.rejections:
        wanted.append((r.key, r.clearinghouse, r.line(), r.acked))
    if not wanted:
        return []
    sub_ids = sorted({k[1] for k, *_ in wanted})
    known: set[tuple[str, int, str]] = set()
    for start in range(0, len(sub_ids), 500):
        known.update((k, s, c) for k, s, c in session.execute(select(
            AckAlert.kind, AckAlert.submission_id, AckAlert.claim_id).where(
            AckAlert.submission_id.in_(sub_ids[start:start + 500]))))
    lines = []
    at = now()
    for (kind, sid, claim_id), ch, line, due in wanted:
        if (kind, sid, claim_id) in known:
            continue
        session.add(AckAlert(kind=kind, clearinghouse=ch, submission_id=sid, claim_id=claim_id, due=due,
                             detail=line[:1000], raised_at=at))
        lines.append(line)
    session.flush()
    return lines


def _open_no_response(session: Session, claims: list[LateClaim], as_of: date) -> int:
    if not claims:
        return 0
    ids = sorted({c.claim_id for c in claims})
    have: set[tuple[str, str]] = set()
    for start in range(0, len(ids), 500):
        # an item already made for this claim since it was last sent (open or closed by a person)
        have.update((cid, ref) for cid, ref in session.execute(select(WorkItem.claim_id, WorkItem.line_control).where(
            WorkItem.category == NO_RESPONSE, WorkItem.claim_id.in_(ids[start:start + 500]))))
    n = 0
    at = now()
    for c in claims:
        ref = f"sub:{c.submission_id}"
        if (c.claim_id, ref) in have:
            continue
        sub_claim = session.scalar(select(SubmittedClaim.id).where(SubmittedClaim.claim_id == c.claim_id)
                                   .order_by(SubmittedClaim.submitted_at.desc(), SubmittedClaim.id.desc()).limit(1))
        item = WorkItem(
            source="ledger", claim_id=c.claim_id[:38], line_number=None, line_control=ref, category=NO_RESPONSE,
            action=FOLLOW_UP, route="no_835", amount=c.amount, charge=c.amount, payer_id=c.payer_id[:80],
            payer_name=c.payer_id[:120],          # the 837P copy keeps the payer id only
            payer_type=c.payer_type, remit_date=None, deadline=None,
            priority=priority(c.amount, NO_RESPONSE, None, as_of), status="new", created_at=at, updated_at=at,
            submitted_claim_id=sub_claim)
        session.add(item)
        session.flush()
        add_event(session, item, "created", to_status="new", at=at,
                  note=(f"no 835 {c.days_outstanding} days after sending on {c.sent.isoformat()} "
                        f"(window {(c.due - c.sent).days} days, {c.payer_type or 'commercial'}): "
                        "follow up with a claim status inquiry (276/277 or the payer portal)"))
        have.add((c.claim_id, ref))
        n += 1
    return n


def close_answered(session: Session, *, remit_file_id: int | None = None) -> int:
    """Close the open ``no_response`` items whose claim has an 835: in file ``remit_file_id`` (the
    835 being ingested), or else in any file received after the item was opened (an 835 of an
    earlier sending of the claim does not answer this one)."""
    q = (select(WorkItem.id, func.max(RemitClaim.id))
         .join(RemitClaim, RemitClaim.claim_id == WorkItem.claim_id)
         .join(RemitPayment, RemitPayment.id == RemitClaim.payment_id)
         .where(WorkItem.category == NO_RESPONSE, WorkItem.status.in_(OPEN_STATUSES),
                RemitClaim.is_reversal.is_(False)))
    if remit_file_id is not None:
        q = q.where(RemitPayment.file_id == remit_file_id)
    else:
        q = q.join(RemitFile, RemitFile.id == RemitPayment.file_id).where(RemitFile.received_at >= WorkItem.created_at)
    remits: dict[int, int] = {iid: rid for iid, rid in session.execute(q.group_by(WorkItem.id))}
    n = 0
    for item_id in sorted(remits):
        item = session.get(WorkItem, item_id)
        assert item is not None
        auto_resolve(session, item, remit_claim_id=remits[item_id], note="the 835 for the claim arrived")
        n += 1
    return n


def watch(engine: Engine, as_of: date | None = None, *, settings: Any | None = None) -> WatchResult:
    """Record newly late or rejected answers, open ``no_response`` items, close answered ones.

    One transaction.  The caller logs ``new_alerts`` (one line each, no PHI)."""
    day = as_of or _today()
    for _ in range(3):
        try:
            with session_scope(engine) as s:
                result = WatchResult(late_report(s, day, settings=settings))
                result.items_closed = close_answered(s)
                result.new_alerts = _record_alerts(s, result.report)
                result.items_opened = _open_no_response(s, result.report.claims_835, day)
                return result
        except IntegrityError:      # a concurrent watch recorded the same alert first: look again
            continue
    raise RuntimeError("acknowledgment watch: could not record alerts (concurrent runs)")


# ------------------------------------------------------------------------------------------
# Aging
# ------------------------------------------------------------------------------------------


def aging(session: Session, as_of: date | None = None, *, settings: Any | None = None) -> dict[str, Any]:
    """Outstanding claims by payer and age bucket (days since the claim id was first sent), with
    amounts; one aggregate query (plus one row per payer for its type)."""
    day = as_of or _today()
    until = _start(day + timedelta(days=1))
    sc, sub = SubmissionClaim, Submission
    first_sc, first_sub = aliased(SubmissionClaim), aliased(Submission)
    # the first sending of every claim id: one grouped pass (a correlated subquery would be run once
    # per CASE branch below: PostgreSQL flattens the inner query)
    firsts = (select(first_sc.claim_id.label("claim_id"), func.min(first_sub.sent_at).label("first_sent"))
              .join(first_sub, first_sub.id == first_sc.submission_id).where(first_sub.sent_at.is_not(None))
              .group_by(first_sc.claim_id).subquery())
    first_sent = firsts.c.first_sent
    bounds = [(_start(day - timedelta(days=d)), label) for d, label in ((30, "0-30"), (60, "31-60"), (90, "61-90"),
                                                                          (120, "91-120"))]
    inner = (select(func.coalesce(SubmittedClaim.payer_id, literal("")).label("payer"),
                    first_sent.label("first_sent"),
                    func.coalesce(SubmittedClaim.total_charge, literal(0)).label("amount"))
             .select_from(sc).join(sub, sub.id == sc.submission_id)
             .join(firsts, firsts.c.claim_id == sc.claim_id)
             .outerjoin(SubmittedClaim, and_(SubmittedClaim.claim_id == sc.claim_id,
                                             SubmittedClaim.file_sha256 == sub.source_sha256))
             .where(_waiting_claims(sc, sub, until), not_(_has_835(sc, sub, until)),
                    not_(_has_277(sc, sub, until, "rejected")))).subquery()
    bucket = case(*((inner.c.first_sent >= b, label) for b, label in bounds), else_=literal(">120"))
    # bucketed in a subquery, grouped outside it: PostgreSQL binds the CASE's parameters anew in
    # each clause, so grouping by the CASE itself would not match the select list
    bucketed = select(inner.c.payer, bucket.label("bucket"), inner.c.amount).subquery()
    rows = session.execute(select(bucketed.c.payer, bucketed.c.bucket, func.count(), func.sum(bucketed.c.amount))
                           .group_by(bucketed.c.payer, bucketed.c.bucket)).all()
    types = payer_types(session, (r[0] for r in rows), settings)
    payers: dict[str, dict[str, Any]] = {}
    totals: dict[str, tuple[int, Decimal]] = {b: (0, CENTS) for b in BUCKETS}
    for payer, label, n, amount in rows:
        amt = Decimal(str(amount or 0)).quantize(Decimal("0.01"))
        p = payers.setdefault(payer, {"payer_id": payer or "(unknown)", "payer_type": types.get(payer, ""),
                                      "claims": 0, "amount": CENTS,
                                      "buckets": {b: {"claims": 0, "amount": CENTS} for b in BUCKETS}})
        p["buckets"][label]["claims"] += int(n)
        p["buckets"][label]["amount"] += amt
        p["claims"] += int(n)
        p["amount"] += amt
        totals[label] = (totals[label][0] + int(n), totals[label][1] + amt)

    def out(d: dict[str, Any]) -> dict[str, Any]:
        return {**d, "amount": str(d["amount"]),
                "buckets": {b: {"claims": v["claims"], "amount": str(v["amount"])} for b, v in d["buckets"].items()}}

    return {
        "as_of": day.isoformat(),
        "basis": "claims sent and not rejected with no 835 yet; age from the claim's first sending",
        "buckets": list(BUCKETS),
        "by_payer": [out(p) for p in sorted(payers.values(), key=lambda p: (-p["amount"], p["payer_id"]))],
        "total": {b: {"claims": totals[b][0], "amount": str(totals[b][1])} for b in BUCKETS},
        "claims": sum(t[0] for t in totals.values()),
        "amount": str(sum((t[1] for t in totals.values()), CENTS)),
    }


def aging_report(engine: Engine, as_of: date | None = None, *, settings: Any | None = None) -> dict[str, Any]:
    """:func:`aging` in its own read transaction (for the web dashboard)."""
    with session_scope(engine) as s:
        return aging(s, as_of, settings=settings)


def aging_table(data: dict[str, Any]) -> str:
    head = f"{'payer':<20} {'type':<10} " + " ".join(f"{b:>14}" for b in BUCKETS) + f" {'total':>14}"
    lines = [f"Aging on {data['as_of']} ({data['basis']})", head]

    def cell(v: dict[str, Any]) -> str:
        return f"{v['claims']}/${v['amount']}"

    for p in data["by_payer"]:
        lines.append(f"{p['payer_id'][:20]:<20} {p['payer_type'][:10]:<10} "
                     + " ".join(f"{cell(p['buckets'][b]):>14}" for b in BUCKETS)
                     + f" {cell(p):>14}")
    lines.append(f"{'all payers':<20} {'':<10} " + " ".join(f"{cell(data['total'][b]):>14}" for b in BUCKETS)
                 + f" {cell({'claims': data['claims'], 'amount': data['amount']}):>14}")
    return "\n".join(lines)


__all__ = [
    "BUCKETS", "NO_RESPONSE", "LateClaim", "LateFile", "LateReport", "Rejection", "WatchResult", "aging",
    "aging_report", "aging_table", "close_answered", "late_items", "late_report", "payer_types", "watch",
]
