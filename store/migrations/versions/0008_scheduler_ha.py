"""Scheduler instances: the active scheduler and its standbys (PostgreSQL high availability).

Revision ID: 0008_scheduler_ha
Revises: 0002_ledger
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_scheduler_ha"
down_revision = "0002_ledger"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ch_scheduler_instances",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("heartbeat_at", TS, nullable=False),
        sa.Column("active_since", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_ch_scheduler_instances"),
    )


def downgrade() -> None:
    op.drop_table("ch_scheduler_instances")
