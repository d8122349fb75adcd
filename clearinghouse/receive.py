"""Inbound: pick up responses (999, TA1, 277CA, 835) exactly once and route them by content.

Order of a pick-up, so that nothing is lost and nothing is processed twice:

1. download the remote file (no prefetch) into a 0600 temporary file, hashing it, fsync;
2. rename it into the content-addressed store ``<data_dir>/responses/<ch>/<sha[:2]>/<sha>.x12``;
3. record it in ``ch_responses`` (unique on sha256: the same response twice is one row);
4. only then archive it remotely (``response_archive_dir``) or delete it;
5. process the recorded rows that are ``received`` or ``pending`` (999/TA1 -> ledger states,
   277CA -> ``remits.ingest.ingest_277ca``, 835 -> ``remits.ingest.ingest_835_file``; when that
   hook does not exist yet the row stays ``pending`` and is retried at the next run).

A crash after 3 and before 4 downloads the file again next time; its hash is known, so it is just
archived.  A crash during 5 leaves the row ``received``; it is processed at the next run.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from clearinghouse import ledger
from clearinghouse.acks import read_999_acks, read_ta1, sniff_kind
from clearinghouse.connect import open_transport
from clearinghouse.errors import TransientError, TransportError
from clearinghouse.locks import run_lock
from clearinghouse.naming import is_temp, sanitize
from clearinghouse.store import commit, private_dir, private_temp
from clearinghouse.submit import Sleep, TransportFactory, lock_dir
from clearinghouse.transport import RemoteEntry, Transport
from config.settings import ClearinghouseProfile, Settings
from store import session_scope
from store.ledger import ResponseFile, utcnow

log = logging.getLogger("dermedi.clearinghouse.receive")


@dataclass
class ReceiveReport:
    downloaded: list[str] = field(default_factory=list)     # new responses stored and recorded
    duplicates: list[str] = field(default_factory=list)     # content seen before: archived, not reprocessed
    processed: dict[str, int] = field(default_factory=dict)  # kind -> count processed this run
    pending: int = 0
    errors: list[str] = field(default_factory=list)
    error: TransportError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def store_dir(settings: Settings, profile: ClearinghouseProfile) -> Path:
    return Path(settings.data_dir) / "responses" / profile.name


def _fetch_one(engine: Engine, settings: Settings, profile: ClearinghouseProfile, t: Transport,
               entry: RemoteEntry, report: ReceiveReport) -> None:
    base = private_dir(store_dir(settings, profile))
    h = hashlib.sha256()
    with private_temp(base / ".incoming") as (tmp, f):

        class _Tee:
            def write(self, data: bytes) -> int:
                h.update(data)
                return f.write(data)

        n = t.download(profile.response_dir, entry.name, _Tee())  # type: ignore[arg-type]
        if n != entry.size:
            raise TransientError(f"download {entry.name} from {t.describe()}: got {n} of {entry.size} bytes")
        sha = h.hexdigest()
        final = base / sha[:2] / f"{sha}.x12"
        commit(tmp, final, f)
    kind = sniff_kind(final)
    try:
        with session_scope(engine) as s:
            s.add(ResponseFile(clearinghouse=profile.name, sha256=sha, remote_name=entry.name[:255],
                               local_path=str(final), size=n, kind=kind, state="received"))
        report.downloaded.append(entry.name)
        log.info("received %s (%s, %d bytes) from %s", entry.name, kind, n, profile.name)
    except IntegrityError:
        report.duplicates.append(entry.name)
        log.info("%s from %s was received before (same content); not processed again", entry.name, profile.name)
    # Durable and recorded: now take it off the server.
    if profile.response_archive_dir:
        dst = entry.name
        if t.stat(profile.response_archive_dir, dst) is not None:
            dst = sanitize(f"{entry.name}.{sha[:12]}")
        t.move(profile.response_dir, entry.name, profile.response_archive_dir, dst)
    else:
        t.remove(profile.response_dir, entry.name)


def fetch(engine: Engine, settings: Settings, profile: ClearinghouseProfile, report: ReceiveReport, *,
          sleep: Sleep = time.sleep, transport_factory: TransportFactory = open_transport) -> None:
    retries_left = max(profile.retries, 0)
    delay = max(profile.backoff_seconds, 0.0)
    while True:
        try:
            with transport_factory(profile) as t:
                entries = [e for e in t.list_dir(profile.response_dir)
                           if not e.is_dir and not e.name.startswith(".") and not is_temp(e.name)]
                for e in sorted(entries, key=lambda e: e.name):
                    _fetch_one(engine, settings, profile, t, e, report)
            return
        except TransportError as exc:
            if not exc.retryable or retries_left <= 0:
                report.error = exc
                log.error("receive from %s failed: %s", profile.name, exc.message)
                return
            retries_left -= 1
            log.warning("%s; retrying in %.2fs", exc.message, delay)
            sleep(delay)
            delay *= 2


# --- processing --------------------------------------------------------------------------------

def _hook(module: str, name: str) -> Callable[..., Any] | None:
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise
    fn = getattr(mod, name, None)
    return fn if callable(fn) else None


def _process_row(engine: Engine, row: ResponseFile) -> tuple[str, str]:
    """Returns (state, detail) for one recorded response."""
    path = Path(row.local_path)
    if row.kind == "999":
        groups = read_999_acks(path)
        matched = []
        with session_scope(engine) as s:
            for g in groups:
                sub = ledger.apply_group_ack(s, row.clearinghouse, g.group_control, g.code or "R", g.transactions)
                if sub is not None:
                    matched.append(f"ISA13 {sub.isa13:09d} {sub.state}")
        return "processed", "; ".join(matched) or f"999 for {len(groups)} group(s), none matched a submission"
    if row.kind == "TA1":
        matched = []
        with session_scope(engine) as s:
            for control, code in read_ta1(path):
                sub = ledger.apply_ta1(s, row.clearinghouse, control, code)
                if sub is not None:
                    matched.append(f"ISA13 {sub.isa13:09d} TA1 {code}")
        return "processed", "; ".join(matched) or "TA1 matched no submission"
    if row.kind == "277CA":
        fn = _hook("remits.ingest", "ingest_277ca")
        if fn is None:
            return "pending", "277CA stored; waiting for remits.ingest.ingest_277ca"
        res = fn(engine, path)
        return "processed", f"277CA ingested by remits ({getattr(res, 'status', 'done')})"
    if row.kind == "835":
        fn = _hook("remits.ingest", "ingest_835_file")
        if fn is None:
            return "pending", "835 stored; waiting for remits.ingest.ingest_835_file"
        res = fn(engine, path)
        return "processed", f"835 ingested by remits ({getattr(res, 'status', 'done')})"
    return "error", f"unrecognised response kind {row.kind!r}; kept at {path.name}"


def process_responses(engine: Engine, clearinghouse: str, report: ReceiveReport | None = None) -> ReceiveReport:
    """Process every recorded response still ``received`` or ``pending`` (each at most once to success)."""
    report = report or ReceiveReport()
    with session_scope(engine) as s:
        rows = list(s.scalars(select(ResponseFile).where(ResponseFile.clearinghouse == clearinghouse,
                                                         ResponseFile.state.in_(("received", "pending")))
                              .order_by(ResponseFile.id)))
        for r in rows:
            s.expunge(r)
    for row in rows:
        try:
            state, detail = _process_row(engine, row)
        except Exception as exc:
            from edi.errors import X12Error

            state = "error"
            detail = str(exc) if isinstance(exc, X12Error) else f"processing failed: {type(exc).__name__}"
            report.errors.append(f"{row.remote_name}: {detail}")
            log.error("processing %s failed: %s", row.remote_name, detail)
        with session_scope(engine) as s:
            rec = s.get(ResponseFile, row.id)
            assert rec is not None
            rec.state, rec.detail = state, detail[:1000]
            if state == "processed":
                rec.processed_at = utcnow()
        if state == "processed":
            report.processed[row.kind] = report.processed.get(row.kind, 0) + 1
        elif state == "pending":
            report.pending += 1
    return report


def receive(engine: Engine, settings: Settings, profile: ClearinghouseProfile, *, sleep: Sleep = time.sleep,
            transport_factory: TransportFactory = open_transport) -> ReceiveReport:
    """Pick up new responses and process them (under the clearinghouse lock)."""
    report = ReceiveReport()
    with run_lock(engine, f"ch-{profile.name}", fallback_dir=lock_dir(settings)):
        fetch(engine, settings, profile, report, sleep=sleep, transport_factory=transport_factory)
        process_responses(engine, profile.name, report)
    return report
