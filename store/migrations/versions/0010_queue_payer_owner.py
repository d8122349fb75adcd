"""The queue page of a biller filtered by payer: ``(payer_id, owner, priority DESC, id)``.

A biller's queue is read as two keyset pages, unassigned items and their own
(``remits.queue.queue_page``); with a payer filter each part is then one index range in page
order.  Without it the biller's own part walked every open item they own (thousands at a
million items) to find the few of that payer: 20 ms per page on SQLite and PostgreSQL.

Revision ID: 0010_queue_payer_owner
Revises: 0009_summary_index
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_queue_payer_owner"
down_revision = "0009_summary_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_work_items_payer_owner_priority", "work_items",
                    ["payer_id", "owner", sa.text("priority DESC"), "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_work_items_payer_owner_priority", table_name="work_items")
