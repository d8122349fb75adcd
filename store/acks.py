"""Acknowledgment watch (schema from migration ``0007_acks``).

* ``claim_acks``  what a 277CA said about each claim (accepted / rejected, the STC category and
                  status code), one row per claim per 277CA file: "the 277CA came" is a fact here,
                  not only a worklist item for rejections.
* ``ack_alerts``  the late or rejected answers already announced (one row per kind, submission
                  and claim), so that the scheduler logs each newly late item once.

What is late is derived from the ledger's timestamps (``ch_submissions.sent_at`` ...) by
:mod:`remits.aging`; these tables only hold what cannot be derived.  No PHI is stored here.
The index on ``ch_submission_claims.claim_id`` (the look-ups "was this claim sent again later",
"when was it first sent") is created by the same migration.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store import Base
from store.ledger import SubmissionClaim

ALERT_KINDS: tuple[str, ...] = ("999_late", "277ca_late", "999_rejected", "ta1_rejected")

# a second index on a table of store/ledger.py, declared here (its migration is 0007_acks)
IX_SUBMISSION_CLAIMS_CLAIM = Index("ix_ch_submission_claims_claim_id", SubmissionClaim.claim_id)


class ClaimAck(Base):
    __tablename__ = "claim_acks"
    __table_args__ = (Index("ix_claim_acks_claim", "claim_id", "received_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(38))
    source: Mapped[str] = mapped_column(String(8), default="277CA")
    status: Mapped[str] = mapped_column(String(10))            # accepted | rejected
    code: Mapped[str] = mapped_column(String(20), default="")  # STC category:status, e.g. A1:20
    remit_file_id: Mapped[int | None] = mapped_column(ForeignKey("remit_files.id", ondelete="CASCADE"),
                                                      nullable=True, index=True)
    status_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AckAlert(Base):
    __tablename__ = "ack_alerts"
    __table_args__ = (UniqueConstraint("kind", "submission_id", "claim_id", name="uq_ack_alerts_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    clearinghouse: Mapped[str] = mapped_column(String(64))
    submission_id: Mapped[int] = mapped_column(ForeignKey("ch_submissions.id", ondelete="CASCADE"), index=True)
    claim_id: Mapped[str] = mapped_column(String(38), default="")   # '' for a file-level alert
    due: Mapped[date | None] = mapped_column(Date, nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
