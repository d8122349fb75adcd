"""Clearinghouse ledger: outbound files (exactly once), their claims, control numbers, responses.

States of an outbound file (:class:`Submission`)::

    queued -> uploading -> sent -> accepted | rejected | partial   (by the 999 / TA1)
                  \\-> failed   (the attempt failed; retried at the next run)

While ``uploading``, ``temp_name`` is set once the temporary ``.part`` file is complete and
verified on the server, just before the rename: a crash after that point is resolved at the
next run without a second upload (see :mod:`clearinghouse.ledger`).
Error texts never hold PHI (host, folder and file names, exception kinds only).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store import Base

SUBMISSION_STATES = ("queued", "uploading", "sent", "accepted", "rejected", "partial", "failed")
PENDING_STATES = ("queued", "uploading", "failed")
RESPONSE_STATES = ("received", "processed", "pending", "error")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Submission(Base):
    """One outbound file for one clearinghouse."""

    __tablename__ = "ch_submissions"
    __table_args__ = (
        UniqueConstraint("clearinghouse", "content_sha256", name="uq_ch_submissions_content"),
        UniqueConstraint("clearinghouse", "isa13", name="uq_ch_submissions_isa13"),
        CheckConstraint("state IN ('queued','uploading','sent','accepted','rejected','partial','failed')",
                        name="state"),
        Index("ix_ch_submissions_state", "clearinghouse", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clearinghouse: Mapped[str] = mapped_column(String(64))
    content_sha256: Mapped[str] = mapped_column(String(64))   # of the claims, control numbers zeroed
    file_sha256: Mapped[str] = mapped_column(String(64))      # of the exact bytes uploaded
    source_sha256: Mapped[str | None] = mapped_column(String(64), index=True)  # of the input file
    source_name: Mapped[str] = mapped_column(String(255), default="")
    size: Mapped[int] = mapped_column(BigInteger)
    isa13: Mapped[int] = mapped_column(Integer)
    gs06: Mapped[str] = mapped_column(String(9))
    remote_dir: Mapped[str] = mapped_column(Text)
    remote_name: Mapped[str] = mapped_column(String(255))
    temp_name: Mapped[str | None] = mapped_column(String(255))
    local_path: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    ack_code: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    claims: Mapped[list[SubmissionClaim]] = relationship(back_populates="submission", cascade="all, delete-orphan",
                                                         order_by="SubmissionClaim.id")


class SubmissionClaim(Base):
    """A claim (CLM01) carried by a submission, with its transaction set and 999 status."""

    __tablename__ = "ch_submission_claims"
    __table_args__ = (Index("ix_ch_submission_claims_sha", "clearinghouse", "claim_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("ch_submissions.id", ondelete="CASCADE"), index=True)
    clearinghouse: Mapped[str] = mapped_column(String(64))
    claim_id: Mapped[str] = mapped_column(String(38))
    claim_sha256: Mapped[str] = mapped_column(String(64))
    st02: Mapped[str] = mapped_column(String(9))
    ack_code: Mapped[str | None] = mapped_column(String(2))   # IK5-01 of its transaction set

    submission: Mapped[Submission] = relationship(back_populates="claims")


class ControlSequence(Base):
    """The last ISA13 used per clearinghouse (next = last + 1, 1..999999999)."""

    __tablename__ = "ch_control_sequences"

    clearinghouse: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class ResponseFile(Base):
    """A response (999, TA1, 277CA, 835 ...) picked up from a clearinghouse; unique on its content."""

    __tablename__ = "ch_responses"
    __table_args__ = (
        UniqueConstraint("sha256", name="uq_ch_responses_sha256"),
        CheckConstraint("state IN ('received','processed','pending','error')", name="state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clearinghouse: Mapped[str] = mapped_column(String(64), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    remote_name: Mapped[str] = mapped_column(String(255))
    local_path: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))       # 999, TA1, 277CA, 277, 835, unknown
    state: Mapped[str] = mapped_column(String(16), default="received")
    detail: Mapped[str | None] = mapped_column(Text)    # what processing did / why pending (no PHI)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SchedulerRun(Base):
    """One scheduled run of one clearinghouse (send, then receive)."""

    __tablename__ = "ch_scheduler_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clearinghouse: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(16), default="running")   # running, ok, failed
    detail: Mapped[str | None] = mapped_column(Text)
