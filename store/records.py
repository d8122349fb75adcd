"""What we sent and what the scrubber said about it, written in bulk.

* :func:`record_submitted_claims` keeps the X12 of each claim we sent (a one-claim 837P
  interchange), so that a denial can be answered with a replacement claim.
* :func:`record_scrub_results` keeps what the scrubber said about each claim, for the
  worklist and the closed-loop summary.

Both write with SQLAlchemy Core executemany (:mod:`store.bulk`) inside the caller's
transaction, in chunks of :data:`CHUNK` claims, so memory stays flat whatever the file's size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, delete, select, update
from sqlalchemy.orm import Session

from store.bulk import allocate_ids, insert_tuples
from store.remits import RemitLineTotal, ScrubFindingRow, ScrubRun, SubmittedClaim, WorkItem

CHUNK = 1000
T = TypeVar("T")


def _chunks(items: Iterable[T], n: int = CHUNK) -> Iterator[list[T]]:
    it = iter(items)
    while chunk := list(islice(it, n)):
        yield chunk


#: What is recorded of one scrubbed claim: (claim id, status, findings), each finding
#: (rule, severity, message, line, carc) as stored.  Plain data: it can cross to a writer process.
RunData = tuple[str, str, list[tuple[str, str, str, str | None, str | None]]]
#: What is recorded of one claim sent: (claim id, payer id, total charge, line count, one-claim X12).
SubmittedData = tuple[str, str, Any, int, str]


def _finding(f: Any) -> tuple[str, str, str, str | None, str | None]:
    line = getattr(f, "line", None)
    return (str(f.rule)[:20], str(f.severity)[:10], str(f.message),
            None if line in (None, "") else str(line)[:10], getattr(f, "carc", None))


def scrub_run_data(results: Iterable[Any]) -> list[RunData]:
    """The rows-to-be of :func:`record_scrub_results`: ``results`` are
    :class:`scrubber.engine.ClaimResult` objects or bare :class:`scrubber.engine.ScrubFinding` objects
    (grouped by claim, in first-seen order; a claim is held when one of its findings is an error)."""
    order: list[RunData] = []
    loose: dict[str, int] = {}
    for r in results:
        if hasattr(r, "findings"):                 # scrubber.engine.ClaimResult
            findings = list(r.findings)
            status = getattr(r, "status", "held" if any(f.severity == "error" for f in findings) else "clean")
            order.append((r.claim.claim_id, status, [_finding(f) for f in findings]))
        else:                                      # a bare ScrubFinding
            at = loose.get(r.claim_id)
            if at is None:
                at = loose[r.claim_id] = len(order)
                order.append((r.claim_id, "clean", []))
            claim_id, status, fs = order[at]
            fs.append(_finding(r))
            if r.severity == "error" and status != "held":
                order[at] = (claim_id, "held", fs)
    return order


def record_scrub_results(session: Session, results: Iterable[Any], *, file_sha256: str = "",
                         scrubbed_at: datetime | None = None) -> int:
    """Store what the scrubber said about each claim.

    ``results`` are :class:`scrubber.engine.ClaimResult` objects (a claim with no findings is
    recorded as a clean run) or bare :class:`scrubber.engine.ScrubFinding` objects.  Returns the
    number of claim runs recorded.  Call it inside the caller's transaction.
    """
    return write_scrub_runs(session, scrub_run_data(results), file_sha256=file_sha256,
                            scrubbed_at=scrubbed_at or datetime.now(UTC))


def write_scrub_runs(session: Session, runs_data: Iterable[RunData], *, file_sha256: str,
                     scrubbed_at: datetime) -> int:
    """Write :func:`scrub_run_data` rows: a scrub run per claim and its findings."""
    at = scrubbed_at
    conn = session.connection()
    n = 0
    runs_t: Any = ScrubRun.__table__
    findings_t: Any = ScrubFindingRow.__table__
    for chunk in _chunks(runs_data):
        ids = allocate_ids(conn, runs_t, len(chunk))
        runs: list[tuple[Any, ...]] = []
        findings: list[tuple[Any, ...]] = []
        for run_id, (claim_id, status, fs) in zip(ids, chunk, strict=True):
            runs.append((run_id, claim_id, file_sha256, at, status, len(fs)))
            for rule, severity, message, line, carc in fs:
                findings.append((run_id, claim_id, rule, severity, message, line, carc, at, file_sha256))
        insert_tuples(conn, runs_t, _RUN_COLUMNS, runs)
        insert_tuples(conn, findings_t, _FINDING_COLUMNS, findings)
        n += len(runs)
    return n


_RUN_COLUMNS = ("id", "claim_id", "file_sha256", "scrubbed_at", "status", "finding_count")
_FINDING_COLUMNS = ("run_id", "claim_id", "rule", "severity", "message", "line", "carc", "scrubbed_at", "file_sha256")
_SUBMITTED_COLUMNS = ("claim_id", "file_sha256", "submitted_at", "payer_id", "total_charge", "line_count", "x12")


def _delimiters(source: Any) -> Any:
    from edi.reader import Delimiters

    if source is None:
        return Delimiters()
    if isinstance(source, Delimiters):
        return source
    return source.delimiters          # a Parser837 (read lazily: known once its first claim is out)


def submitted_data(claims: Iterable[Any], delimiters: Any = None) -> list[SubmittedData]:
    """The rows-to-be of :func:`record_submitted_claims` (``delimiters`` as there)."""
    from edi.x837 import claim_interchange

    out: list[SubmittedData] = []
    delims = None
    for claim in claims:
        if delims is None:
            delims = _delimiters(delimiters)
        out.append((claim.claim_id, claim.payer_id or "", claim.total_charge, len(claim.lines),
                    claim_interchange(claim, delims)))
    return out


def record_submitted_claims(session: Session, claims: Iterable[Any], *, file_sha256: str,
                            delimiters: Any = None, submitted_at: datetime | None = None) -> int:
    """Keep the X12 of each claim we sent (a one-claim 837P interchange).

    ``claims`` are :class:`edi.x837.Claim` objects from the parsed file; ``delimiters`` is the
    :class:`edi.reader.Delimiters` of that file or the :class:`edi.x837.Parser837` itself (default:
    ``* : ^ ~``).  Idempotent per (claim id, file sha256).  Returns the number of claims newly
    stored.  Worklist items of these claims that had no submitted claim yet are pointed at it.
    Call it inside the caller's transaction (e.g. from the send command, with the ledger's file
    sha256).
    """
    return write_submitted(session, submitted_data(claims, delimiters), file_sha256=file_sha256,
                           submitted_at=submitted_at or datetime.now(UTC))


def write_submitted(session: Session, data: Iterable[SubmittedData], *, file_sha256: str,
                    submitted_at: datetime) -> int:
    """Write :func:`submitted_data` rows (those not stored yet for this file) and point the worklist
    items that have no submitted claim yet at them."""
    conn = session.connection()
    n = 0
    table: Any = SubmittedClaim.__table__
    for chunk in _chunks(data):
        ids = list(dict.fromkeys(d[0] for d in chunk))
        known = set(conn.execute(select(SubmittedClaim.claim_id).where(
            SubmittedClaim.file_sha256 == file_sha256, SubmittedClaim.claim_id.in_(ids))).scalars())
        rows: list[tuple[Any, ...]] = []
        for claim_id, payer_id, total_charge, line_count, x12 in chunk:
            if claim_id in known:
                continue
            known.add(claim_id)
            rows.append((claim_id, file_sha256, submitted_at, payer_id, total_charge, line_count, x12))
        insert_tuples(conn, table, _SUBMITTED_COLUMNS, rows)
        link_submitted(session, [r[0] for r in rows])
        n += len(rows)
    return n


def _connection(where: Session | Connection) -> Connection:
    return where.connection() if isinstance(where, Session) else where


def link_submitted(session: Session | Connection, claim_ids: Iterable[str] | None = None) -> int:
    """Point items that have no submitted claim yet at the newest submitted copy of their claim
    (of these claims, or of every claim); one UPDATE per chunk of claims.  Returns the rows changed."""
    newest = (select(SubmittedClaim.id).where(SubmittedClaim.claim_id == WorkItem.claim_id)
              .order_by(SubmittedClaim.submitted_at.desc(), SubmittedClaim.id.desc()).limit(1)
              .correlate(WorkItem).scalar_subquery())
    has_copy = (select(SubmittedClaim.id).where(SubmittedClaim.claim_id == WorkItem.claim_id)
                .correlate(WorkItem).exists())
    # only items that have a submitted copy to point at (the others would be rewritten unchanged)
    base = (update(WorkItem).where(WorkItem.submitted_claim_id.is_(None), has_copy)
            .values(submitted_claim_id=newest))
    conn = _connection(session)
    if claim_ids is None:
        stmt = base.where(WorkItem.claim_id.in_(select(SubmittedClaim.claim_id)))
        return int(conn.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]
    changed = 0
    for chunk in _chunks(dict.fromkeys(claim_ids), 500):
        changed += int(conn.execute(base.where(WorkItem.claim_id.in_(chunk))).rowcount or 0)  # type: ignore[attr-defined]
    return changed


def newest_submitted_ids(session: Session | Connection, claim_ids: Iterable[str]) -> dict[str, int]:
    """The newest submitted copy of each of these claims (as :func:`link_submitted` points items at it)."""
    conn = _connection(session)
    best: dict[str, tuple[Any, int]] = {}
    for chunk in _chunks(dict.fromkeys(claim_ids), 500):
        for claim_id, sid, at in conn.execute(select(SubmittedClaim.claim_id, SubmittedClaim.id,
                                                     SubmittedClaim.submitted_at)
                                              .where(SubmittedClaim.claim_id.in_(chunk))):
            key = (at, sid)
            if claim_id not in best or key > best[claim_id]:
                best[claim_id] = key
    return {claim_id: key[1] for claim_id, key in best.items()}


def add_line_totals(session: Session | Connection, totals: dict[Any, list[int]]) -> None:
    """Add ``{remit_date: [lines, denied_lines, charged_cents, denied_cents]}`` to ``remit_line_totals``
    (an upsert per date: ``INSERT ... ON CONFLICT (remit_date) DO UPDATE SET lines = lines + ...``)."""
    if not totals:
        return
    conn = _connection(session)
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
    t: Any = RemitLineTotal.__table__
    stmt = upsert(t)
    stmt = stmt.on_conflict_do_update(index_elements=[t.c.remit_date], set_={
        c: t.c[c] + stmt.excluded[c] for c in ("lines", "denied_lines", "charged_cents", "denied_cents")})
    conn.execute(stmt, [{"remit_date": d, "lines": v[0], "denied_lines": v[1], "charged_cents": v[2],
                         "denied_cents": v[3]} for d, v in sorted(totals.items())])


def forget_records(engine: Engine, file_sha256: str, *, since: datetime) -> None:
    """Remove the submitted claims and scrub runs recorded for an input file since ``since``: its
    send stopped before anything of it was queued (unreadable input half-way, an error), so none
    of its claims went out.  Its own transaction; the scrub runs' findings go with them."""
    with engine.begin() as conn:
        conn.execute(delete(SubmittedClaim).where(SubmittedClaim.file_sha256 == file_sha256,
                                                  SubmittedClaim.submitted_at >= since))
        runs = select(ScrubRun.id).where(ScrubRun.file_sha256 == file_sha256, ScrubRun.scrubbed_at >= since)
        conn.execute(delete(ScrubFindingRow).where(ScrubFindingRow.run_id.in_(runs)))
        conn.execute(delete(ScrubRun).where(ScrubRun.file_sha256 == file_sha256, ScrubRun.scrubbed_at >= since))


def latest_submitted_id(session: Session, claim_id: str) -> int | None:
    """The newest submitted copy of a claim."""
    return session.scalar(select(SubmittedClaim.id).where(SubmittedClaim.claim_id == claim_id)
                          .order_by(SubmittedClaim.submitted_at.desc(), SubmittedClaim.id.desc()).limit(1))


__all__ = ["RunData", "SubmittedData", "add_line_totals", "forget_records", "latest_submitted_id", "link_submitted",
           "newest_submitted_ids",
           "record_scrub_results", "record_submitted_claims", "scrub_run_data", "submitted_data", "write_scrub_runs",
           "write_submitted"]
