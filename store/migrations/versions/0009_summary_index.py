"""A covering index for ``remits summary`` and the dashboard's breakdowns: one ordered index scan
groups a million items by category, CARC, payer, procedure and status (no sort, no table reads).

Revision ID: 0009_summary_index
Revises: 0005_store_indexes
"""

from __future__ import annotations

from alembic import op

revision = "0009_summary_index"
down_revision = "0005_store_indexes"
branch_labels = None
depends_on = None

COLUMNS = ["source", "category", "group_code", "carc_sent", "carc", "payer_name", "payer_id", "procedure", "status",
           "amount"]


def upgrade() -> None:
    op.create_index("ix_work_items_summary", "work_items", COLUMNS, unique=False)


def downgrade() -> None:
    op.drop_index("ix_work_items_summary", table_name="work_items")
