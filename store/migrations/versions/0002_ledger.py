"""Clearinghouse ledger: submissions, their claims, ISA13 sequences, responses, scheduler runs.

Revision ID: 0002_ledger
Revises: 0001_base
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_ledger"
down_revision = "0001_base"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ch_submissions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("clearinghouse", sa.String(64), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=True),
        sa.Column("source_name", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("isa13", sa.Integer(), nullable=False),
        sa.Column("gs06", sa.String(9), nullable=False),
        sa.Column("remote_dir", sa.Text(), nullable=False),
        sa.Column("remote_name", sa.String(255), nullable=False),
        sa.Column("temp_name", sa.String(255), nullable=True),
        sa.Column("local_path", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("ack_code", sa.String(2), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("acked_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_ch_submissions"),
        sa.UniqueConstraint("clearinghouse", "content_sha256", name="uq_ch_submissions_content"),
        sa.UniqueConstraint("clearinghouse", "isa13", name="uq_ch_submissions_isa13"),
        sa.CheckConstraint("state IN ('queued','uploading','sent','accepted','rejected','partial','failed')",
                           name="ck_ch_submissions_state"),
    )
    op.create_index("ix_ch_submissions_state", "ch_submissions", ["clearinghouse", "state"])
    op.create_index("ix_ch_submissions_source_sha256", "ch_submissions", ["source_sha256"])
    op.create_table(
        "ch_submission_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("clearinghouse", sa.String(64), nullable=False),
        sa.Column("claim_id", sa.String(38), nullable=False),
        sa.Column("claim_sha256", sa.String(64), nullable=False),
        sa.Column("st02", sa.String(9), nullable=False),
        sa.Column("ack_code", sa.String(2), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_ch_submission_claims"),
        sa.ForeignKeyConstraint(["submission_id"], ["ch_submissions.id"], ondelete="CASCADE",
                                name="fk_ch_submission_claims_submission_id_ch_submissions"),
    )
    op.create_index("ix_ch_submission_claims_submission_id", "ch_submission_claims", ["submission_id"])
    op.create_index("ix_ch_submission_claims_sha", "ch_submission_claims", ["clearinghouse", "claim_sha256"])
    op.create_table(
        "ch_control_sequences",
        sa.Column("clearinghouse", sa.String(64), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("clearinghouse", name="pk_ch_control_sequences"),
    )
    op.create_table(
        "ch_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clearinghouse", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("remote_name", sa.String(255), nullable=False),
        sa.Column("local_path", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("processed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_ch_responses"),
        sa.UniqueConstraint("sha256", name="uq_ch_responses_sha256"),
        sa.CheckConstraint("state IN ('received','processed','pending','error')", name="ck_ch_responses_state"),
    )
    op.create_index("ix_ch_responses_clearinghouse", "ch_responses", ["clearinghouse"])
    op.create_table(
        "ch_scheduler_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clearinghouse", sa.String(64), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_ch_scheduler_runs"),
    )
    op.create_index("ix_ch_scheduler_runs_clearinghouse", "ch_scheduler_runs", ["clearinghouse"])


def downgrade() -> None:
    op.drop_table("ch_scheduler_runs")
    op.drop_table("ch_responses")
    op.drop_table("ch_control_sequences")
    op.drop_table("ch_submission_claims")
    op.drop_table("ch_submissions")
