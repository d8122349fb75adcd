"""Acknowledgment watch: per-claim 277CA answers, announced alerts, and an index on
ch_submission_claims.claim_id (see store/acks.py).

Revision ID: 0007_acks
Revises: 0003_remits (depends on 0002_ledger)
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_acks"
down_revision = "0003_remits"
branch_labels = None
depends_on = ("0002_ledger",)

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "claim_acks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.String(38), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("code", sa.String(20), nullable=False),
        sa.Column("remit_file_id", sa.Integer(), nullable=True),
        sa.Column("status_date", sa.Date(), nullable=True),
        sa.Column("received_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_claim_acks"),
        sa.ForeignKeyConstraint(["remit_file_id"], ["remit_files.id"], ondelete="CASCADE",
                                name="fk_claim_acks_remit_file_id_remit_files"),
    )
    op.create_index("ix_claim_acks_claim", "claim_acks", ["claim_id", "received_at"])
    op.create_index("ix_claim_acks_remit_file_id", "claim_acks", ["remit_file_id"])
    op.create_table(
        "ack_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("clearinghouse", sa.String(64), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.String(38), nullable=False),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("raised_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ack_alerts"),
        sa.ForeignKeyConstraint(["submission_id"], ["ch_submissions.id"], ondelete="CASCADE",
                                name="fk_ack_alerts_submission_id_ch_submissions"),
        sa.UniqueConstraint("kind", "submission_id", "claim_id", name="uq_ack_alerts_key"),
    )
    op.create_index("ix_ack_alerts_submission_id", "ack_alerts", ["submission_id"])
    op.create_index("ix_ch_submission_claims_claim_id", "ch_submission_claims", ["claim_id"])


def downgrade() -> None:
    op.drop_index("ix_ch_submission_claims_claim_id", table_name="ch_submission_claims")
    op.drop_index("ix_ack_alerts_submission_id", table_name="ack_alerts")
    op.drop_table("ack_alerts")
    op.drop_index("ix_claim_acks_remit_file_id", table_name="claim_acks")
    op.drop_index("ix_claim_acks_claim", table_name="claim_acks")
    op.drop_table("claim_acks")
