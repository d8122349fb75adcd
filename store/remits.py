"""Remits, denials and the appeal worklist (schema from migration ``0003_remits``).

* ``remit_files``       one row per 835/277CA file seen (sha256 unique).  A file that fails
                        a balancing rule is ``quarantined`` with its raw content and reason.
* ``remit_payments``    BPR/TRN of each 835 transaction; (payer_key, trace_number) unique.
* ``remit_claims`` / ``remit_lines`` / ``remit_adjustments`` / ``remit_remarks`` / ``remit_plb``
                        what the payer said, with every adjustment classified.
* ``work_items`` / ``work_item_events``  the denial worklist and its history.
* ``scrub_runs`` / ``scrub_findings``    what the scrubber said about each claim we sent.
* ``submitted_claims``  the X12 of each claim we sent (for corrected claims).
* ``remit_line_totals`` remitted lines, charges and denials added up per remit date.

No patient names, member ids or birth dates are copied into remit tables; the only PHI is in
``submitted_claims.x12`` (needed to write a replacement claim) and the quarantined raw 835.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from store import Base

Money = Numeric(14, 2)


class RemitFile(Base):
    __tablename__ = "remit_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(10), default="835")          # 835 | 277CA
    size: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20))                      # ingested | quarantined | released
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    findings: Mapped[str | None] = mapped_column(Text, nullable=True)     # JSON list of balance findings
    content: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    transactions: Mapped[int] = mapped_column(Integer, default=0)
    claims: Mapped[int] = mapped_column(Integer, default=0)
    items_created: Mapped[int] = mapped_column(Integer, default=0)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    released_by: Mapped[str | None] = mapped_column(String(80), nullable=True)


class RemitPayment(Base):
    __tablename__ = "remit_payments"
    __table_args__ = (UniqueConstraint("payer_key", "trace_number", name="uq_remit_payments_trace"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("remit_files.id", ondelete="CASCADE"), index=True)
    st_control: Mapped[str] = mapped_column(String(9))
    payer_key: Mapped[str] = mapped_column(String(80))
    payer_id: Mapped[str] = mapped_column(String(80))
    payer_name: Mapped[str] = mapped_column(String(120))
    trace_number: Mapped[str] = mapped_column(String(80))
    trace_payer_id: Mapped[str] = mapped_column(String(20))
    total_payment: Mapped[Decimal] = mapped_column(Money)
    credit_debit: Mapped[str] = mapped_column(String(2))
    method: Mapped[str] = mapped_column(String(3))
    payment_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    production_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    payee_npi: Mapped[str] = mapped_column(String(20))
    payee_name: Mapped[str] = mapped_column(String(120))


class RemitPLB(Base):
    __tablename__ = "remit_plb"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("remit_payments.id", ondelete="CASCADE"), index=True)
    provider_id: Mapped[str] = mapped_column(String(50))
    reason: Mapped[str] = mapped_column(String(4))
    reference: Mapped[str] = mapped_column(String(80))
    amount: Mapped[Decimal] = mapped_column(Money)


class RemitClaim(Base):
    __tablename__ = "remit_claims"
    __table_args__ = (Index("ix_remit_claims_remit_date", "remit_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("remit_payments.id", ondelete="CASCADE"), index=True)
    claim_id: Mapped[str] = mapped_column(String(38), index=True)
    status: Mapped[str] = mapped_column(String(3))
    charge: Mapped[Decimal] = mapped_column(Money)
    paid: Mapped[Decimal] = mapped_column(Money)
    patient_responsibility: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    payer_claim_number: Mapped[str] = mapped_column(String(50), index=True)
    filing_indicator: Mapped[str] = mapped_column(String(3))
    frequency_code: Mapped[str] = mapped_column(String(2))
    remit_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    is_reversal: Mapped[bool] = mapped_column(Boolean, default=False)
    paired_with_id: Mapped[int | None] = mapped_column(ForeignKey("remit_claims.id"), nullable=True)
    segment_number: Mapped[int] = mapped_column(Integer, default=0)


class RemitLine(Base):
    __tablename__ = "remit_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    remit_claim_id: Mapped[int] = mapped_column(ForeignKey("remit_claims.id", ondelete="CASCADE"), index=True)
    line_number: Mapped[int] = mapped_column(Integer)
    control_number: Mapped[str] = mapped_column(String(50))
    procedure: Mapped[str] = mapped_column(String(48))
    modifiers: Mapped[str] = mapped_column(String(20))
    charge: Mapped[Decimal] = mapped_column(Money)
    paid: Mapped[Decimal] = mapped_column(Money)
    units: Mapped[Decimal | None] = mapped_column(Numeric(12, 3), nullable=True)
    allowed: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    service_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    denied_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))


class RemitAdjustment(Base):
    __tablename__ = "remit_adjustments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    remit_claim_id: Mapped[int] = mapped_column(ForeignKey("remit_claims.id", ondelete="CASCADE"), index=True)
    remit_line_id: Mapped[int | None] = mapped_column(ForeignKey("remit_lines.id", ondelete="CASCADE"),
                                                      nullable=True, index=True)
    group_code: Mapped[str] = mapped_column(String(2))
    carc: Mapped[str] = mapped_column(String(5))
    carc_routed: Mapped[str] = mapped_column(String(5))
    amount: Mapped[Decimal] = mapped_column(Money)
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(12, 3), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(24))
    action: Mapped[str] = mapped_column(String(24))
    route: Mapped[str] = mapped_column(String(40))


class RemitRemark(Base):
    __tablename__ = "remit_remarks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    remit_claim_id: Mapped[int] = mapped_column(ForeignKey("remit_claims.id", ondelete="CASCADE"), index=True)
    remit_line_id: Mapped[int | None] = mapped_column(ForeignKey("remit_lines.id", ondelete="CASCADE"),
                                                      nullable=True)
    code: Mapped[str] = mapped_column(String(30))
    source: Mapped[str] = mapped_column(String(4))
    qualifier: Mapped[str] = mapped_column(String(6))


class RemitLineTotal(Base):
    """Remitted service lines (reversals excluded) added up per remit date, kept by every ingest:
    the denial rate is read from here instead of from every line (migration 0005_store_indexes)."""

    __tablename__ = "remit_line_totals"

    remit_date: Mapped[date] = mapped_column(Date, primary_key=True)
    lines: Mapped[int] = mapped_column(BigInteger)
    denied_lines: Mapped[int] = mapped_column(BigInteger)
    charged_cents: Mapped[int] = mapped_column(BigInteger)
    denied_cents: Mapped[int] = mapped_column(BigInteger)


class SubmittedClaim(Base):
    __tablename__ = "submitted_claims"
    __table_args__ = (UniqueConstraint("claim_id", "file_sha256", name="uq_submitted_claims_claim_file"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(38), index=True)
    file_sha256: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    payer_id: Mapped[str] = mapped_column(String(80))
    total_charge: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    line_count: Mapped[int] = mapped_column(Integer, default=0)
    x12: Mapped[str] = mapped_column(Text)                 # a one-claim 837P interchange (PHI)


class WorkItem(Base):
    __tablename__ = "work_items"
    __table_args__ = (
        Index("ix_work_items_queue", "status", "owner", "priority"),
        Index("ix_work_items_claim", "claim_id", "line_number"),
        # the hand-out queue: unowned new items in priority order (partial index)
        Index("ix_work_items_unowned", text("priority DESC"), "id",
              postgresql_where=text("owner IS NULL AND status = 'new'"),
              sqlite_where=text("owner IS NULL AND status = 'new'")),
        # keyset pages (ORDER BY priority DESC, id), filtered or not (migration 0005_store_indexes)
        Index("ix_work_items_priority", text("priority DESC"), "id"),
        Index("ix_work_items_status_priority", "status", text("priority DESC"), "id"),
        Index("ix_work_items_category_priority", "category", text("priority DESC"), "id"),
        Index("ix_work_items_owner_priority", "owner", text("priority DESC"), "id"),
        Index("ix_work_items_payer_priority", "payer_id", text("priority DESC"), "id"),
        # a biller's queue filtered by payer: each of its two parts one range (0010_queue_payer_owner)
        Index("ix_work_items_payer_owner_priority", "payer_id", "owner", text("priority DESC"), "id"),
        Index("ix_work_items_remit_date", "remit_date"),
        # covering index of the summary's breakdowns (migration 0009_summary_index)
        Index("ix_work_items_summary", "source", "category", "group_code", "carc_sent", "carc", "payer_name",
              "payer_id", "procedure", "status", "amount"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(8))                         # 835 | 277CA
    claim_id: Mapped[str] = mapped_column(String(38))
    line_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    line_control: Mapped[str] = mapped_column(String(50), default="")
    procedure: Mapped[str] = mapped_column(String(48), default="")
    modifiers: Mapped[str] = mapped_column(String(20), default="")
    service_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    group_code: Mapped[str] = mapped_column(String(2), default="")
    carc: Mapped[str] = mapped_column(String(5), default="")
    carc_sent: Mapped[str] = mapped_column(String(5), default="")
    rarcs: Mapped[str] = mapped_column(String(200), default="")
    other_codes: Mapped[str] = mapped_column(String(200), default="")
    category: Mapped[str] = mapped_column(String(24))
    action: Mapped[str] = mapped_column(String(24))
    route: Mapped[str] = mapped_column(String(40), default="")
    fix: Mapped[str] = mapped_column(String(40), default="")
    amount: Mapped[Decimal] = mapped_column(Money)
    charge: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    payer_id: Mapped[str] = mapped_column(String(80), default="")
    payer_name: Mapped[str] = mapped_column(String(120), default="")
    payer_type: Mapped[str] = mapped_column(String(20), default="")
    payer_claim_number: Mapped[str] = mapped_column(String(50), default="")
    remit_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    deadline: Mapped[date | None] = mapped_column(Date, nullable=True)
    priority: Mapped[Decimal] = mapped_column(Numeric(16, 4), default=Decimal(0))
    status: Mapped[str] = mapped_column(String(16), default="new")
    owner: Mapped[str | None] = mapped_column(String(80), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    remit_file_id: Mapped[int | None] = mapped_column(ForeignKey("remit_files.id"), nullable=True)
    remit_claim_id: Mapped[int | None] = mapped_column(ForeignKey("remit_claims.id"), nullable=True)
    remit_line_id: Mapped[int | None] = mapped_column(ForeignKey("remit_lines.id"), nullable=True)
    resolved_by_remit_claim_id: Mapped[int | None] = mapped_column(ForeignKey("remit_claims.id"), nullable=True)
    submitted_claim_id: Mapped[int | None] = mapped_column(ForeignKey("submitted_claims.id"), nullable=True)


class WorkItemEvent(Base):
    __tablename__ = "work_item_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(80))
    event: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class ScrubRun(Base):
    __tablename__ = "scrub_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(38), index=True)
    file_sha256: Mapped[str] = mapped_column(String(64), default="")
    scrubbed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(10))                # clean | held
    finding_count: Mapped[int] = mapped_column(Integer, default=0)


class ScrubFindingRow(Base):
    __tablename__ = "scrub_findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("scrub_runs.id", ondelete="CASCADE"), index=True)
    claim_id: Mapped[str] = mapped_column(String(38), index=True)
    rule: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(Text)
    line: Mapped[str | None] = mapped_column(String(10), nullable=True)
    carc: Mapped[str | None] = mapped_column(String(5), nullable=True)
    scrubbed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    file_sha256: Mapped[str] = mapped_column(String(64), default="")
