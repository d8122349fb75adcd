"""What we sent and what the scrubber said about it, written in bulk.

* :func:`record_submitted_claims` keeps the X12 of each claim we sent (a one-claim 837P
  interchange), so that a denial can be answered with a replacement claim.
* :func:`record_scrub_results` keeps what the scrubber said about each claim, for the
  worklist and the closed-loop summary.

Both write with SQLAlchemy Core executemany (:mod:`store.bulk`) inside the caller's
transaction, in chunks of :data:`CHUNK` claims, so memory stays flat whatever the file's size.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from store.bulk import Row, insert_rows
from store.remits import RemitLineTotal, ScrubFindingRow, ScrubRun, SubmittedClaim, WorkItem

CHUNK = 1000
T = TypeVar("T")


def _chunks(items: Iterable[T], n: int = CHUNK) -> Iterator[list[T]]:
    it = iter(items)
    while chunk := list(islice(it, n)):
        yield chunk


@dataclass(slots=True)
class _Run:
    claim_id: str
    findings: list[Any]
    status: str


def _runs(results: Iterable[Any]) -> list[_Run]:
    runs: dict[str, _Run] = {}
    order: list[_Run] = []
    for r in results:
        if hasattr(r, "findings"):                 # scrubber.engine.ClaimResult
            claim = r.claim
            findings = list(r.findings)
            status = getattr(r, "status", "held" if any(f.severity == "error" for f in findings) else "clean")
            order.append(_Run(claim.claim_id, findings, status))
        else:                                      # a bare ScrubFinding
            run = runs.get(r.claim_id)
            if run is None:
                run = runs[r.claim_id] = _Run(r.claim_id, [], "clean")
                order.append(run)
            run.findings.append(r)
            if r.severity == "error":
                run.status = "held"
    return order


def record_scrub_results(session: Session, results: Iterable[Any], *, file_sha256: str = "",
                         scrubbed_at: datetime | None = None) -> int:
    """Store what the scrubber said about each claim.

    ``results`` are :class:`scrubber.engine.ClaimResult` objects (a claim with no findings is
    recorded as a clean run) or bare :class:`scrubber.engine.ScrubFinding` objects.  Returns the
    number of claim runs recorded.  Call it inside the caller's transaction.
    """
    at = scrubbed_at or datetime.now(UTC)
    conn = session.connection()
    n = 0
    for chunk in _chunks(_runs(results)):
        runs: list[Row] = []
        findings: list[Row] = []
        for run in chunk:
            row = Row({"claim_id": run.claim_id, "file_sha256": file_sha256, "scrubbed_at": at,
                       "status": run.status, "finding_count": len(run.findings)})
            runs.append(row)
            for f in run.findings:
                line = getattr(f, "line", None)
                findings.append(Row({
                    "run_id": row, "claim_id": run.claim_id, "rule": str(f.rule)[:20],
                    "severity": str(f.severity)[:10], "message": str(f.message),
                    "line": None if line in (None, "") else str(line)[:10], "carc": getattr(f, "carc", None),
                    "scrubbed_at": at, "file_sha256": file_sha256}))
        insert_rows(conn, ScrubRun.__table__, runs, returning_ids=True)  # type: ignore[arg-type]
        insert_rows(conn, ScrubFindingRow.__table__, findings)  # type: ignore[arg-type]
        n += len(runs)
    return n


def _delimiters(source: Any) -> Any:
    from edi.reader import Delimiters

    if source is None:
        return Delimiters()
    if isinstance(source, Delimiters):
        return source
    return source.delimiters          # a Parser837 (read lazily: known once its first claim is out)


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
    from edi.x837 import ClaimWriter

    at = submitted_at or datetime.now(UTC)
    conn = session.connection()
    n = 0
    for chunk in _chunks(claims):
        ids = list(dict.fromkeys(c.claim_id for c in chunk))
        known = set(conn.execute(select(SubmittedClaim.claim_id).where(
            SubmittedClaim.file_sha256 == file_sha256, SubmittedClaim.claim_id.in_(ids))).scalars())
        rows: list[Row] = []
        delims = _delimiters(delimiters)
        for claim in chunk:
            if claim.claim_id in known:
                continue
            known.add(claim.claim_id)
            buf = io.BytesIO()
            writer = ClaimWriter(buf, delims)
            writer.write(claim)
            writer.close()
            rows.append(Row({"claim_id": claim.claim_id, "file_sha256": file_sha256, "submitted_at": at,
                             "payer_id": claim.payer_id or "", "total_charge": claim.total_charge,
                             "line_count": len(claim.lines), "x12": buf.getvalue().decode("latin-1")}))
        insert_rows(conn, SubmittedClaim.__table__, rows)  # type: ignore[arg-type]
        link_submitted(session, [r["claim_id"] for r in rows])
        n += len(rows)
    return n


def link_submitted(session: Session, claim_ids: Iterable[str] | None = None) -> int:
    """Point items that have no submitted claim yet at the newest submitted copy of their claim
    (of these claims, or of every claim); one UPDATE per chunk of claims.  Returns the rows changed."""
    newest = (select(SubmittedClaim.id).where(SubmittedClaim.claim_id == WorkItem.claim_id)
              .order_by(SubmittedClaim.submitted_at.desc(), SubmittedClaim.id.desc()).limit(1)
              .correlate(WorkItem).scalar_subquery())
    base = update(WorkItem).where(WorkItem.submitted_claim_id.is_(None)).values(submitted_claim_id=newest)
    conn = session.connection()
    if claim_ids is None:
        stmt = base.where(WorkItem.claim_id.in_(select(SubmittedClaim.claim_id)))
        return int(conn.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]
    changed = 0
    for chunk in _chunks(dict.fromkeys(claim_ids), 500):
        changed += int(conn.execute(base.where(WorkItem.claim_id.in_(chunk))).rowcount or 0)  # type: ignore[attr-defined]
    return changed


def add_line_totals(session: Session, totals: dict[Any, list[int]]) -> None:
    """Add ``{remit_date: [lines, denied_lines, charged_cents, denied_cents]}`` to ``remit_line_totals``
    (an upsert per date: ``INSERT ... ON CONFLICT (remit_date) DO UPDATE SET lines = lines + ...``)."""
    if not totals:
        return
    conn = session.connection()
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


__all__ = ["add_line_totals", "forget_records", "latest_submitted_id", "link_submitted", "record_scrub_results",
           "record_submitted_claims"]
