"""NCCI tables imported from current CMS quarterly files (PTP pairs, MUE values, import log).

Revision ID: 0004_ncci
Revises: 0001_base
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_ncci"
down_revision = "0001_base"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ncci_ptp",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("column1", sa.String(length=5), nullable=False),
        sa.Column("column2", sa.String(length=5), nullable=False),
        sa.Column("modifier_indicator", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("rationale", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ncci_ptp")),
    )
    op.create_index(op.f("ix_ncci_ptp_column1"), "ncci_ptp", ["column1"], unique=False)
    op.create_table(
        "ncci_mue",
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("mue_units", sa.Integer(), nullable=False),
        sa.Column("mai", sa.Integer(), nullable=False),
        sa.Column("rationale", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_ncci_mue")),
    )
    op.create_table(
        "ncci_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=3), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ncci_imports")),
    )


def downgrade() -> None:
    op.drop_table("ncci_imports")
    op.drop_table("ncci_mue")
    op.drop_index(op.f("ix_ncci_ptp_column1"), table_name="ncci_ptp")
    op.drop_table("ncci_ptp")
