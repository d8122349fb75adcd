"""Audited worklist actions: the one place every view and change of an item, claim, remit or
appeal goes through, for the web workspace, its JSON API and the CLI alike.

Each function does the work with the domain functions of :mod:`remits.worklist`,
:mod:`remits.correct` and :mod:`remits.ingest` and writes the audit row
(:func:`store.audit.record`) in the same transaction, so a change is never without its row.
Authorization (which role may do what, to which item) is the caller's job: the web layer
checks it before calling (``dermedi/web/deps.py``); the CLI user has database access already.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.orm import Session

from remits.worklist import WorklistError, add_event, next_item, update_item
from store import session_scope
from store.accounts import AppealLetter
from store.audit import record, record_in
from store.remits import WorkItem

APPEAL_FOLLOW_UP_DAYS = 30


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, through which channel (web | api | cli), from which address."""

    user: str
    channel: str = "web"
    client: str = ""


class StaleItemError(WorklistError):
    """The item changed since the form was shown: nothing was written."""


def audit(session: Session, actor: Actor, action: str, object_type: str = "", object_id: str | int | None = None,
          detail: str = "") -> None:
    record(session, user=actor.user, channel=actor.channel, client=actor.client, action=action,
           object_type=object_type, object_id=object_id, detail=detail)


def version_of(item: WorkItem) -> str:
    """The item's version for stale-form checks (its last change time)."""
    at = item.updated_at
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return at.isoformat()


def get_item(session: Session, item_id: int) -> WorkItem:
    item = session.get(WorkItem, item_id)
    if item is None:
        raise WorklistError(f"no worklist item {item_id}")
    return item


def view_item(session: Session, item_id: int, actor: Actor) -> WorkItem:
    item = get_item(session, item_id)
    audit(session, actor, "view_item", "work_item", item_id, f"claim {item.claim_id}")
    return item


def change_item(session: Session, item_id: int, actor: Actor, *, status: str | None = None, note: str | None = None,
                owner: str | None = None, expected_version: str | None = None) -> WorkItem:
    """Status, note, (re)assignment: :func:`remits.worklist.update_item` plus one audit row per change."""
    item = session.get(WorkItem, item_id, with_for_update=session.get_bind().dialect.name == "postgresql")
    if item is None:
        raise WorklistError(f"no worklist item {item_id}")
    if expected_version is not None and version_of(item) != expected_version:
        raise StaleItemError(f"item {item_id} was changed by someone else since you opened it "
                             f"(now {item.status}, owner {item.owner or 'nobody'}): reload it and try again")
    if expected_version is not None:
        # the version check and the claim on the row in one statement: two writers who read the
        # same version cannot both pass (the loser's UPDATE matches no row)
        bumped = session.execute(update(WorkItem).where(
            WorkItem.id == item_id, WorkItem.updated_at == datetime.fromisoformat(expected_version))
            .values(updated_at=datetime.now(UTC)).execution_options(synchronize_session=False))
        if getattr(bumped, "rowcount", 1) == 0:
            session.expire(item)
            raise StaleItemError(f"item {item_id} was changed by someone else since you opened it: "
                                 "reload it and try again")
    old_status, old_owner = item.status, item.owner
    update_item(session, item_id, status=status, note=note, user=actor.user, owner=owner)
    if item.status != old_status:
        audit(session, actor, "status", "work_item", item_id, f"{old_status} -> {item.status}")
    elif note:
        audit(session, actor, "note", "work_item", item_id)
    if item.owner != old_owner:
        audit(session, actor, "assign", "work_item", item_id, f"owner {old_owner or '-'} -> {item.owner or '-'}")
    return item


def take_next(engine: Engine, actor: Actor) -> int | None:
    """Take the next item for ``actor``: the item, its history event and the audit row in one
    short transaction (an empty queue is audited in a transaction of its own)."""
    def audited(conn: Connection, item_id: int) -> None:
        record_in(conn, user=actor.user, channel=actor.channel, client=actor.client, action="take_next",
                  object_type="work_item", object_id=item_id)

    item_id = next_item(engine, actor.user, also=audited)
    if item_id is None:
        with session_scope(engine) as s:
            audit(s, actor, "take_next", "work_item", None, "queue empty")
    return item_id


def bulk_assign(session: Session, item_ids: list[int], owner: str, actor: Actor) -> int:
    n = 0
    for item_id in item_ids:
        item = session.get(WorkItem, item_id)
        if item is None or item.owner == owner:
            continue
        change_item(session, item_id, actor, owner=owner)
        n += 1
    return n


def set_priority(session: Session, item_id: int, priority: Any, actor: Actor) -> WorkItem:
    item = get_item(session, item_id)
    old = item.priority
    item.priority = priority
    item.updated_at = datetime.now(UTC)
    add_event(session, item, "priority", user=actor.user, note=f"priority {old} -> {priority}")
    audit(session, actor, "reprioritize", "work_item", item_id, f"{old} -> {priority}")
    return item


def corrected_claim_bytes(session: Session, item_id: int, actor: Actor, *, settings: Any = None) -> tuple[bytes, Any]:
    """The replacement 837P of an item's claim (frequency 7 + REF*F8), as bytes, audited."""
    from remits.correct import write_corrected_claim

    with tempfile.TemporaryDirectory(prefix="dermedi-") as tmp:
        os.chmod(tmp, 0o700)
        out = Path(tmp) / f"corrected-{item_id}.837"
        result = write_corrected_claim(session, item_id, out, user=actor.user, settings=settings)
        data = out.read_bytes()
    audit(session, actor, "corrected_claim", "work_item", item_id, f"claim {result.claim_id}")
    return data, result


def corrected_claim_file(session: Session, item_id: int, out_path: str | Path, actor: Actor, *,
                         settings: Any = None) -> Any:
    from remits.correct import write_corrected_claim

    result = write_corrected_claim(session, item_id, out_path, user=actor.user, settings=settings)
    audit(session, actor, "corrected_claim", "work_item", item_id, f"claim {result.claim_id}")
    return result


def release_remit(engine: Engine, file_id: int, actor: Actor, settings: Any = None) -> Any:
    from remits.ingest import release_quarantined

    result = release_quarantined(engine, file_id, user=actor.user, settings=settings)
    with session_scope(engine) as s:
        audit(s, actor, "release_remit", "remit_file", file_id, f"{result.items_created} items")
    return result


def store_appeal(session: Session, item_id: int, actor: Actor, *, template: str, body: str, pdf: bytes) -> AppealLetter:
    item = get_item(session, item_id)
    letter = AppealLetter(item_id=item.id, created_at=datetime.now(UTC), created_by=actor.user, template=template,
                          body=body, pdf=pdf)
    session.add(letter)
    session.flush()
    add_event(session, item, "appeal_letter", user=actor.user, note=f"appeal letter #{letter.id} ({template})")
    audit(session, actor, "appeal_letter", "work_item", item_id, f"letter {letter.id}")
    return letter


def send_appeal(session: Session, letter_id: int, actor: Actor, *, today: date | None = None,
                follow_up_days: int = APPEAL_FOLLOW_UP_DAYS) -> AppealLetter:
    """Mark the letter sent: the item goes to ``appealed`` (taken first if it was new) and its
    deadline becomes the appeal's follow-up date."""
    letter = session.get(AppealLetter, letter_id)
    if letter is None:
        raise WorklistError(f"no appeal letter {letter_id}")
    if letter.sent_at is not None:
        raise WorklistError(f"appeal letter {letter_id} was already sent on {letter.sent_at.date().isoformat()}")
    item = get_item(session, letter.item_id)
    if item.status == "new":
        change_item(session, item.id, actor, status="in_progress")
    if item.status != "appealed":
        change_item(session, item.id, actor, status="appealed", note=f"appeal letter #{letter.id} sent")
    day = today or date.today()
    letter.sent_at = datetime.now(UTC)
    letter.follow_up = day + timedelta(days=follow_up_days)
    item.deadline = letter.follow_up
    add_event(session, item, "appeal_sent", user=actor.user,
              note=f"appeal letter #{letter.id} sent {day.isoformat()}; follow up by {letter.follow_up.isoformat()}")
    audit(session, actor, "appeal_sent", "appeal_letter", letter.id, f"item {item.id}")
    return letter


def appeal_letters(session: Session, item_id: int) -> list[AppealLetter]:
    return list(session.scalars(select(AppealLetter).where(AppealLetter.item_id == item_id)
                                .order_by(AppealLetter.id)))


__all__ = ["Actor", "StaleItemError", "appeal_letters", "audit", "bulk_assign", "change_item", "corrected_claim_bytes",
           "corrected_claim_file", "get_item", "release_remit", "send_appeal", "set_priority", "store_appeal",
           "take_next", "version_of", "view_item"]
