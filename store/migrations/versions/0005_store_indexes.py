"""Reads that scale: keyset indexes for the worklist pages, remit-date indexes, and a per-day rollup
of remitted lines for the denial rate (backfilled from the lines already stored).

Revision ID: 0005_store_indexes
Revises: 0003_remits
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005_store_indexes"
down_revision = "0003_remits"
branch_labels = None
depends_on = None

#: (name, columns): the worklist's pages are ``ORDER BY priority DESC, id`` (keyset), filtered or not.
WORK_ITEM_INDEXES: tuple[tuple[str, list[Any]], ...] = (
    ("ix_work_items_priority", [sa.text("priority DESC"), "id"]),
    ("ix_work_items_status_priority", ["status", sa.text("priority DESC"), "id"]),
    ("ix_work_items_category_priority", ["category", sa.text("priority DESC"), "id"]),
    ("ix_work_items_owner_priority", ["owner", sa.text("priority DESC"), "id"]),
    ("ix_work_items_payer_priority", ["payer_id", sa.text("priority DESC"), "id"]),
    ("ix_work_items_remit_date", ["remit_date"]),
)


def upgrade() -> None:
    for name, cols in WORK_ITEM_INDEXES:
        op.create_index(name, "work_items", cols, unique=False)
    op.create_index("ix_remit_claims_remit_date", "remit_claims", ["remit_date"], unique=False)
    op.create_table(
        "remit_line_totals",
        sa.Column("remit_date", sa.Date(), nullable=False),
        sa.Column("lines", sa.BigInteger(), nullable=False),
        sa.Column("denied_lines", sa.BigInteger(), nullable=False),
        sa.Column("charged_cents", sa.BigInteger(), nullable=False),
        sa.Column("denied_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("remit_date", name=op.f("pk_remit_line_totals")),
    )
    # backfill: what the lines already stored add up to, per remit date (reversals excluded)
    op.execute(sa.text(
        "INSERT INTO remit_line_totals (remit_date, lines, denied_lines, charged_cents, denied_cents) "
        "SELECT c.remit_date, count(l.id), "
        "sum(CASE WHEN l.denied_amount > 0 AND l.paid < l.charge THEN 1 ELSE 0 END), "
        "coalesce(sum(CAST(round(l.charge * 100) AS BIGINT)), 0), "
        "coalesce(sum(CAST(round(l.denied_amount * 100) AS BIGINT)), 0) "
        "FROM remit_lines l JOIN remit_claims c ON c.id = l.remit_claim_id "
        "WHERE c.is_reversal = false AND c.remit_date IS NOT NULL GROUP BY c.remit_date"))


def downgrade() -> None:
    op.drop_table("remit_line_totals")
    op.drop_index("ix_remit_claims_remit_date", table_name="remit_claims")
    for name, _cols in reversed(WORK_ITEM_INDEXES):
        op.drop_index(name, table_name="work_items")
