"""Ledger operations on :mod:`store.ledger`: control numbers, queueing, state changes, acks.

Exactly once rests on three things:

* ``(clearinghouse, content_sha256)`` is unique, so the same claims in the same file are queued once;
* a claim already carried by a submission that was not rejected is not queued again
  (:func:`claims_already_submitted`), so a re-scrub that changes the batch does not resend it;
* :func:`clearinghouse.submit.deliver` resolves rows left in ``uploading`` by looking at the server.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store import session_scope
from store.bulk import Row, insert_rows, insert_tuples
from store.ledger import (
    PENDING_STATES,
    ControlSequence,
    Submission,
    SubmissionClaim,
    utcnow,
)

MAX_CONTROL = 999_999_999


def next_control_number(engine: Engine, clearinghouse: str) -> int:
    """The next ISA13 for ``clearinghouse`` from the database sequence (committed at once)."""
    for _ in range(5):
        try:
            with session_scope(engine) as s:
                res = s.execute(
                    update(ControlSequence)
                    .where(ControlSequence.clearinghouse == clearinghouse)
                    .values(last_value=ControlSequence.last_value % MAX_CONTROL + 1))
                if res.rowcount == 0:  # type: ignore[attr-defined]
                    s.add(ControlSequence(clearinghouse=clearinghouse, last_value=1))
                    s.flush()
                value = s.scalar(select(ControlSequence.last_value)
                                 .where(ControlSequence.clearinghouse == clearinghouse))
                assert value is not None
                return int(value)
        except IntegrityError:  # two first-ever calls raced on the insert: retry the update
            continue
    raise RuntimeError(f"could not allocate a control number for {clearinghouse}")


@dataclass(frozen=True, slots=True)
class ClaimRef:
    claim_id: str
    claim_sha256: str
    st02: str


def claims_already_submitted(session: Session, clearinghouse: str, shas: Iterable[str]) -> set[str]:
    """Which of these claim hashes were already queued/sent (and not rejected) to this clearinghouse."""
    wanted = list(set(shas))
    found: set[str] = set()
    for i in range(0, len(wanted), 500):
        chunk = wanted[i:i + 500]
        rows = session.scalars(
            select(SubmissionClaim.claim_sha256)
            .join(Submission, Submission.id == SubmissionClaim.submission_id)
            .where(SubmissionClaim.clearinghouse == clearinghouse, SubmissionClaim.claim_sha256.in_(chunk),
                   Submission.state != "rejected"))
        found.update(rows)
    return found


def find_by_content(session: Session, clearinghouse: str, content_sha256: str) -> Submission | None:
    return session.scalar(select(Submission).where(Submission.clearinghouse == clearinghouse,
                                                   Submission.content_sha256 == content_sha256))


def queue_submission(engine: Engine, *, clearinghouse: str, content_sha256: str, file_sha256: str,
                     source_sha256: str | None, source_name: str, size: int, isa13: int, remote_dir: str,
                     remote_name: str, local_path: str, claims: Iterable[ClaimRef]) -> tuple[int, bool]:
    """Insert a queued submission; returns ``(id, created)`` (``created`` False: same content exists)."""
    try:
        with session_scope(engine) as s:
            conn = s.connection()
            sub = Row({"clearinghouse": clearinghouse, "content_sha256": content_sha256, "file_sha256": file_sha256,
                       "source_sha256": source_sha256, "source_name": source_name[:255], "size": size, "isa13": isa13,
                       "gs06": str(isa13), "remote_dir": remote_dir, "remote_name": remote_name,
                       "local_path": local_path, "state": "queued", "attempts": 0})
            insert_rows(conn, Submission.__table__, [sub], returning_ids=True)  # type: ignore[arg-type]
            # the file's claims, 5,000 to an executemany (the same transaction: all of them or none)
            it = iter(claims)
            columns = ("submission_id", "clearinghouse", "claim_id", "claim_sha256", "st02", "ack_code")
            while chunk := list(islice(it, 5000)):
                insert_tuples(conn, SubmissionClaim.__table__, columns,  # type: ignore[arg-type]
                              [(sub.id, clearinghouse, c.claim_id[:38], c.claim_sha256, c.st02, None) for c in chunk])
            assert sub.id is not None
            return sub.id, True
    except IntegrityError:
        with session_scope(engine) as s:
            existing = find_by_content(s, clearinghouse, content_sha256)
            if existing is None:
                raise
            return existing.id, False


def pending_ids(engine: Engine, clearinghouse: str) -> list[int]:
    """Submissions still to deliver (queued, left uploading by a crash, or failed), oldest first."""
    with session_scope(engine) as s:
        return list(s.scalars(select(Submission.id).where(Submission.clearinghouse == clearinghouse,
                                                          Submission.state.in_(PENDING_STATES))
                              .order_by(Submission.id)))


def get(engine: Engine, submission_id: int) -> Submission:
    with session_scope(engine) as s:
        sub = s.get(Submission, submission_id)
        if sub is None:
            raise KeyError(submission_id)
        s.expunge(sub)
        return sub


def set_fields(engine: Engine, submission_id: int, **fields: object) -> None:
    with session_scope(engine) as s:
        s.execute(update(Submission).where(Submission.id == submission_id).values(updated_at=utcnow(), **fields))


def mark_uploading(engine: Engine, submission_id: int) -> None:
    with session_scope(engine) as s:
        s.execute(update(Submission).where(Submission.id == submission_id)
                  .values(state="uploading", attempts=Submission.attempts + 1, updated_at=utcnow()))


def mark_part_complete(engine: Engine, submission_id: int, temp_name: str) -> None:
    set_fields(engine, submission_id, temp_name=temp_name)


def mark_part_removed(engine: Engine, submission_id: int) -> None:
    set_fields(engine, submission_id, temp_name=None)


def mark_sent(engine: Engine, submission_id: int, when: datetime | None = None) -> None:
    set_fields(engine, submission_id, state="sent", temp_name=None, error=None, sent_at=when or utcnow())


def mark_failed(engine: Engine, submission_id: int, error: str) -> None:
    """Record a failed attempt.  A row whose part is complete (``temp_name`` set) stays ``uploading``
    so that the next run can finish it without uploading again."""
    with session_scope(engine) as s:
        sub = s.get(Submission, submission_id)
        if sub is None:
            return
        sub.error = error[:1000]
        if sub.temp_name is None:
            sub.state = "failed"
        sub.updated_at = utcnow()


# --- acknowledgments ---------------------------------------------------------------------------

ACK_STATE = {"A": "accepted", "E": "accepted", "P": "partial", "R": "rejected", "M": "rejected", "W": "rejected",
             "X": "rejected"}


def apply_group_ack(session: Session, clearinghouse: str, group_control: str, code: str,
                    transactions: Iterable[tuple[str, str]]) -> Submission | None:
    """Apply a 999 AK1/AK9 (group) and its AK2/IK5 (transaction) codes to the submission with that GS06."""
    sub = _by_control(session, clearinghouse, group_control)
    if sub is None or sub.state == "queued":
        return None
    sub.state = ACK_STATE.get(code, "rejected")
    sub.ack_code = code[:2]
    sub.acked_at = utcnow()
    by_st = dict(transactions)
    for c in sub.claims:
        if c.st02 in by_st:
            c.ack_code = by_st[c.st02][:2]
        elif sub.state in ("accepted", "rejected"):
            c.ack_code = code[:2]
    return sub


def apply_ta1(session: Session, clearinghouse: str, isa13: str, code: str) -> Submission | None:
    """A TA1 rejecting an interchange (TA104 R) rejects the submission with that ISA13."""
    sub = _by_control(session, clearinghouse, isa13)
    if sub is None or code not in ("R",):
        return sub
    sub.state = "rejected"
    sub.ack_code = "TR"
    sub.acked_at = utcnow()
    return sub


def _by_control(session: Session, clearinghouse: str, control: str) -> Submission | None:
    control = control.strip()
    if not control.isdigit():
        return None
    return session.scalar(select(Submission).where(Submission.clearinghouse == clearinghouse,
                                                   Submission.isa13 == int(control)))
