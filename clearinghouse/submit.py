"""Outbound: validate, scrub, write the clean claims, queue them in the ledger, deliver exactly once.

:func:`prepare` turns one 837P file into queued submissions (one file per source interchange, ISA13
from the ledger sequence, ISA07/08 = the clearinghouse's receiver, ISA15 = its usage indicator) and a
held file with its report.  :func:`deliver_pending` uploads everything due for a clearinghouse with
retries, and first resolves what a crash may have left behind.  :func:`send_files` does both under
the clearinghouse lock.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, cast

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from clearinghouse import ledger
from clearinghouse.connect import open_transport
from clearinghouse.errors import LocalConfigError, RemoteConflictError, TransportError
from clearinghouse.locks import run_lock
from clearinghouse.naming import remote_name, sanitize
from clearinghouse.scrub import scrub_claims
from clearinghouse.store import HashingWriter, commit, private_dir, private_temp, sha256_file
from clearinghouse.transport import Transport, remove_stray_parts, upload_atomic
from config.settings import ClearinghouseProfile, Settings
from edi.files import private_open
from edi.reader import Delimiters
from edi.x837 import Claim, ClaimWriter, Parser837, claim_identity
from store import session_maker, session_scope
from store.records import forget_records, record_scrub_results, record_submitted_claims, scrub_run_data, submitted_data

log = logging.getLogger("dermedi.clearinghouse.submit")

TransportFactory = Callable[[ClearinghouseProfile], Transport]
BATCH = 500  # claims looked up and recorded in the ledger at once (memory stays bounded)
Sleep = Callable[[float], None]


# --- writing -----------------------------------------------------------------------------------

def outbound_writer(out: IO[bytes], delimiters: Delimiters, *, isa_control: int | None,
                    usage_indicator: str | None, receiver: tuple[str, str] | None = None,
                    sender: tuple[str, str] | None = None, canonical_hash: Any = None) -> ClaimWriter:
    """The ClaimWriter of an outbound file: the profile's ISA sender/receiver, and source interchanges
    with the same envelope (but control numbers and dates) merged into the file's one ISA."""
    return ClaimWriter(out, delimiters, isa_control=isa_control, usage_indicator=usage_indicator,
                       sender=sender, receiver=receiver, merge_envelopes=True, canonical_hash=canonical_hash)


def claim_sha256(claim: Claim) -> str:
    """The claim's identity for exactly-once (see :func:`edi.x837.claim_identity`)."""
    return claim_identity(claim)[0]


@dataclass
class _OpenFile:
    temp: Path
    handle: IO[bytes]
    writer: ClaimWriter
    hasher: HashingWriter       # the file's own sha256 and size, as it is written
    isa13: int
    claims: ClaimSpool


class ClaimSpool:
    """The claims of one outbound file, kept in a private temporary file beside it until the file is
    queued (a 1,000,000-claim file does not hold a million references in memory)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh = private_open(path, "wb")
        self._n = 0

    def append(self, ref: ledger.ClaimRef) -> None:
        self._fh.write(f"{ref.claim_id}\x1f{ref.claim_sha256}\x1f{ref.st02}\n".encode("latin-1", "replace"))
        self._n += 1

    def __len__(self) -> int:
        return self._n

    def __bool__(self) -> bool:
        return self._n > 0

    def __iter__(self) -> Iterator[ledger.ClaimRef]:
        self._fh.flush()
        with self.path.open("rb") as fh:
            for line in fh:
                claim_id, sha, st02 = line.rstrip(b"\n").decode("latin-1").split("\x1f")
                yield ledger.ClaimRef(claim_id, sha, st02)

    def discard(self) -> None:
        self._fh.close()
        self.path.unlink(missing_ok=True)


@dataclass
class PrepareResult:
    source: str
    source_sha256: str
    claims_read: int = 0
    clean: int = 0
    held: int = 0
    already_submitted: int = 0
    queued: list[int] = field(default_factory=list)        # new submissions
    duplicate_of: list[int] = field(default_factory=list)  # same content already in the ledger
    held_path: Path | None = None
    report_path: Path | None = None


def outgoing_dir(settings: Settings, profile: ClearinghouseProfile) -> Path:
    return Path(settings.data_dir) / "outgoing" / profile.name


def prepare(engine: Engine, settings: Settings, profile: ClearinghouseProfile, source: Path, *,
            background: bool | None = None) -> PrepareResult:
    """Validate and scrub ``source``, queue its clean claims (new ones only), keep the held ones.

    Raises :class:`edi.errors.X12Error` for unreadable input; nothing is queued in that case.
    ``background``: record the scrub runs and submitted claims through a writer process of their own
    (:mod:`store.writer`); by default for an input of :data:`BACKGROUND_MIN_BYTES` or more on a
    database another process can open.
    """
    source_sha = sha256_file(source)
    started = datetime.now(UTC)
    result = PrepareResult(source=str(source), source_sha256=source_sha)
    out_dir = private_dir(outgoing_dir(settings, profile))
    held_dir = private_dir(Path(profile.held_dir or Path(settings.data_dir) / "held" / profile.name))
    receiver = (profile.isa_receiver_qualifier, profile.isa_receiver_id) if profile.isa_receiver_id else None
    sender = (profile.isa_sender_qualifier, profile.isa_sender_id) if profile.isa_sender_id else None
    parser = Parser837(source, source.name)
    files: list[_OpenFile] = []
    current: _OpenFile | None = None
    held_temp: tuple[Path, IO[bytes]] | None = None
    held_writer: ClaimWriter | None = None
    report_fh: IO[bytes] | None = None
    report_temp: Path | None = None

    def close_current() -> None:
        nonlocal current
        if current is not None:
            current.writer.close()
            current.handle.flush()
            os.fsync(current.handle.fileno())
            current.handle.close()
            current = None

    batch: list[tuple[Claim, str, int]] = []   # claim, identity, size
    runs: list[Any] = []  # scrubber results not yet recorded for the denial worklists
    if background is None:
        background = source.stat().st_size >= BACKGROUND_MIN_BYTES
    tx = _Records(engine, source_sha, background=background)

    def write_batch() -> None:
        nonlocal current
        if not batch:
            if runs:
                tx.record(runs, [], parser)
                runs.clear()
            return
        seen = tx.seen(profile.name, [sha for _, sha, _ in batch])
        # what the scrubber said, and the X12 of each claim we send (so that a denial can be answered
        # with a replacement claim)
        tx.record(runs, [c for c, sha, _ in batch if sha not in seen], parser)
        runs.clear()
        for claim, sha, size in batch:
            if sha in seen:
                result.already_submitted += 1
                continue
            if current is not None and current.claims and \
                    current.writer.canonical_size + size + ENVELOPE_SLACK > profile.max_file_size:
                close_current()  # max_file_size: the rest goes into the next file (own ISA13)
            if current is None or not current.writer.can_continue(claim):
                close_current()
                tx.commit()     # (the control number is its own transaction: no write lock held meanwhile)
                isa13 = ledger.next_control_number(engine, profile.name)
                temp = out_dir / f".{isa13:09d}.{os.getpid()}.tmp"
                handle = private_open(temp)
                # the content hash (the file as it reads with control number 0: the same claims queued
                # again under another ISA13 are the same content) is taken as the file is written
                hasher = HashingWriter(forward=handle)
                current = _OpenFile(
                    temp=temp, handle=handle, isa13=isa13, hasher=hasher,
                    writer=outbound_writer(cast(IO[bytes], hasher), parser.delimiters, isa_control=isa13,
                                           usage_indicator=profile.isa_usage_indicator,
                                           receiver=receiver, sender=sender, canonical_hash=hashlib.sha256()),
                    claims=ClaimSpool(temp.with_suffix(".claims")))
                files.append(current)
            current.writer.write(claim)
            current.claims.append(ledger.ClaimRef(claim.claim_id, sha, current.writer.st02))
            result.clean += 1
        batch.clear()

    try:
        for outcome in scrub_claims(parser.claims(), settings):
            claim = outcome.claim
            result.claims_read += 1
            if outcome.result is not None:
                runs.append(outcome.result)
            if outcome.held:
                result.held += 1
                if held_writer is None:
                    fd_path = held_dir / f".{sanitize(source.stem)}.{source_sha[:12]}.held.tmp"
                    held_temp = (fd_path, private_open(fd_path))
                    held_writer = ClaimWriter(held_temp[1], parser.delimiters)
                    report_temp = (held_dir / f".{sanitize(source.stem)}.{source_sha[:12]}.held.json.tmp")
                    report_fh = private_open(report_temp)
                    report_fh.write(json.dumps({"source": source.name, "source_sha256": source_sha})[:-1].encode()
                                    + b', "held": [\n')
                else:
                    assert report_fh is not None
                    report_fh.write(b",\n")
                held_writer.write(claim)
                report_fh.write(json.dumps({"claim_id": claim.claim_id, "findings": outcome.findings},
                                           default=str).encode())
                continue
            batch.append((claim, *claim_identity(claim)))
            if len(batch) >= BATCH or len(runs) >= BATCH:
                write_batch()
        write_batch()
        tx.close(commit=True)
        close_current()
        if held_writer is not None and held_temp is not None:
            held_writer.close()
            final = held_dir / f"{sanitize(source.stem)}.{source_sha[:12]}.held.837"
            result.held_path = commit(held_temp[0], final, held_temp[1])
            held_temp = None
            assert report_fh is not None and report_temp is not None
            report_fh.write(b"\n]}\n")
            report = held_dir / f"{sanitize(source.stem)}.{source_sha[:12]}.held.json"
            result.report_path = commit(report_temp, report, report_fh)
            report_temp = None
    except BaseException:
        # nothing of this file was queued: forget the claims recorded as sent and their scrub runs too
        tx.close(commit=False)
        forget_records(engine, source_sha, since=started)
        for of in files:
            of.handle.close()
            of.temp.unlink(missing_ok=True)
            of.claims.discard()
        if held_temp is not None:
            held_temp[1].close()
            held_temp[0].unlink(missing_ok=True)
        if report_fh is not None and report_temp is not None:
            report_fh.close()
            report_temp.unlink(missing_ok=True)
        raise

    try:
        for of in files:
            content_sha = of.writer.canonical_hash.hexdigest()
            name = remote_name(profile.file_name_template, name=source.stem, control=of.isa13)
            final_local = out_dir / name
            commit(of.temp, final_local)
            sid, created = ledger.queue_submission(
                engine, clearinghouse=profile.name, content_sha256=content_sha, file_sha256=of.hasher.hexdigest(),
                source_sha256=source_sha, source_name=source.name, size=of.hasher.size, isa13=of.isa13,
                remote_dir=profile.upload_dir, remote_name=name, local_path=str(final_local), claims=of.claims)
            if created:
                result.queued.append(sid)
                log.info("queued %s (ISA13 %09d, %d claims) for %s", name, of.isa13, len(of.claims), profile.name)
            else:
                final_local.unlink(missing_ok=True)
                result.duplicate_of.append(sid)
    finally:
        for of in files:
            of.claims.discard()
    return result


ENVELOPE_SLACK = 400  # SE/GE/IEA trailers, a new ST header's growth and control-number widths
COMMIT_EVERY = 10_000  # claims recorded (scrub runs, submitted claims) between two commits


BACKGROUND_MIN_BYTES = 4 * 1024 * 1024  # inputs from this size on (~4,000 claims) record in a writer process


class _Records:
    """Where the batches of one input record what the scrubber said and what is sent: in this process's
    transaction, or through a writer process (:mod:`store.writer`) that writes while this one scrubs on.
    Committed every :data:`COMMIT_EVERY` claims rather than every batch (a commit is a WAL sync on SQLite,
    a round trip on PostgreSQL); what a failed send had committed is removed by
    :func:`store.records.forget_records`."""

    def __init__(self, engine: Engine, file_sha256: str, *, background: bool) -> None:
        self.engine = engine
        self.file_sha256 = file_sha256
        self._session: Session | None = None
        self._pending = 0
        self._writer: Any = None
        if background and _separate_process_can_open(engine):
            from store.writer import RecordWriter

            self._writer = RecordWriter(engine.url.render_as_string(hide_password=False))

    def session(self) -> Session:
        if self._session is None:
            self._session = session_maker(self.engine)()
            self._session.begin()
        return self._session

    def seen(self, clearinghouse: str, shas: list[str]) -> set[str]:
        """Which claim hashes the ledger already has (the ledger is not written by the batches)."""
        if self._writer is not None:
            with session_scope(self.engine) as s:
                return ledger.claims_already_submitted(s, clearinghouse, shas)
        return ledger.claims_already_submitted(self.session(), clearinghouse, shas)

    def record(self, runs: list[Any], claims: list[Claim], parser: Parser837) -> None:
        if self._writer is not None:
            at = datetime.now(UTC)
            self._writer.runs(scrub_run_data(runs), file_sha256=self.file_sha256, at=at)
            self._writer.submitted(submitted_data(claims, parser), file_sha256=self.file_sha256, at=at)
        else:
            session = self.session()
            if runs:
                record_scrub_results(session, runs, file_sha256=self.file_sha256)
            if claims:
                record_submitted_claims(session, claims, file_sha256=self.file_sha256, delimiters=parser.delimiters)
        self._pending += max(len(runs), len(claims))
        if self._pending >= COMMIT_EVERY:
            if self._writer is not None:      # the writer commits while this process scrubs on
                self._pending = 0
                self._writer.checkpoint()
            else:
                self.commit()

    def commit(self) -> None:
        self._pending = 0
        if self._writer is not None:
            self._writer.commit()
        else:
            self._end_session(commit=True)

    def _end_session(self, *, commit: bool) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            try:
                if commit:
                    session.commit()
                else:
                    session.rollback()
            finally:
                session.close()

    def close(self, *, commit: bool) -> None:
        """Commit (or roll back) what is pending, and stop the writer process if there is one."""
        try:
            if commit:
                self.commit()
            else:
                self._end_session(commit=False)
        finally:
            if self._writer is not None:
                writer, self._writer = self._writer, None
                writer.close()


def _separate_process_can_open(engine: Engine) -> bool:
    """Whether a writer process can open this database (not an in-memory SQLite one)."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return bool(url.database) and url.database != ":memory:" and "mode=memory" not in str(url)
    return url.get_backend_name() == "postgresql"


# --- delivery ----------------------------------------------------------------------------------

@dataclass
class DeliveryReport:
    attempted: int = 0                                   # upload attempts started (puts)
    sent: list[int] = field(default_factory=list)        # submissions now on the server
    recovered: list[int] = field(default_factory=list)   # of which: completed from an earlier run's state
    failed: list[tuple[int, str]] = field(default_factory=list)
    error: TransportError | None = None                  # the error that ended the run, if any
    connections: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failed


def deliver_one(engine: Engine, t: Transport, submission_id: int, report: DeliveryReport) -> None:
    """Make sure one submission is on the server exactly once, then mark it sent."""
    sub = ledger.get(engine, submission_id)
    local = Path(sub.local_path)
    d, final = sub.remote_dir, sub.remote_name
    if sub.state == "uploading" or sub.attempts > 0:
        # An earlier attempt may have got further than the ledger says: look at the server.
        remote = t.stat(d, final)
        if remote is not None:
            if remote.size == sub.size:
                ledger.mark_sent(engine, submission_id)
                report.sent.append(submission_id)
                report.recovered.append(submission_id)
                log.info("%s was already complete on %s; marked sent", final, t.describe())
                return
            raise RemoteConflictError(f"{final} exists on {t.describe()} with {remote.size} bytes, "
                                      f"expected {sub.size}")
        if sub.temp_name:
            part = t.stat(d, sub.temp_name)
            if part is not None and part.size == sub.size:
                t.rename(d, sub.temp_name, final)
                ledger.mark_sent(engine, submission_id)
                report.sent.append(submission_id)
                report.recovered.append(submission_id)
                return
            if part is None:
                # The complete part was renamed before the interruption and the clearinghouse has
                # already taken the file away: it was delivered.  (Only if the folder itself is
                # there: a missing or unmounted folder raises here instead of hiding the part.)
                t.list_dir(d)
                ledger.mark_sent(engine, submission_id)
                report.sent.append(submission_id)
                report.recovered.append(submission_id)
                log.info("%s was renamed before an interruption and already picked up; marked sent", final)
                return
        removed = remove_stray_parts(t, d, final)
        if removed:
            log.info("removed %d stray temporary file(s) of %s on %s", removed, final, t.describe())
        if sub.temp_name:
            ledger.mark_part_removed(engine, submission_id)
    if not local.is_file():
        raise LocalConfigError(f"local copy of {final} is missing: {local}")
    ledger.mark_uploading(engine, submission_id)
    report.attempted += 1
    upload_atomic(t, local, d, final,
                  on_part_complete=lambda temp: ledger.mark_part_complete(engine, submission_id, temp),
                  on_part_removed=lambda: ledger.mark_part_removed(engine, submission_id))
    ledger.mark_sent(engine, submission_id)
    report.sent.append(submission_id)


def deliver_pending(engine: Engine, profile: ClearinghouseProfile, *, sleep: Sleep = time.sleep,
                    transport_factory: TransportFactory = open_transport,
                    only: Iterable[int] | None = None) -> DeliveryReport:
    """Deliver every pending submission of ``profile`` (queued, uploading, failed), with retries.

    Transient errors reconnect after an exponential backoff (``retries`` times, ``backoff_seconds``
    doubling); host-key, authentication and local configuration errors end the run at once; a
    permission/missing-folder error fails that file and the run goes on with the next.
    """
    report = DeliveryReport()
    remaining = ledger.pending_ids(engine, profile.name)
    if only is not None:
        wanted = set(only)
        remaining = [i for i in remaining if i in wanted]
    retries_left = max(profile.retries, 0)
    delay = max(profile.backoff_seconds, 0.0)
    while remaining:
        try:
            report.connections += 1
            with transport_factory(profile) as t:
                while remaining:
                    sid = remaining[0]
                    try:
                        deliver_one(engine, t, sid, report)
                    except TransportError as exc:
                        if exc.retryable or exc.kind in ("host-key", "auth"):
                            raise
                        ledger.mark_failed(engine, sid, exc.message)
                        report.failed.append((sid, exc.message))
                        report.error = report.error or exc
                        log.error("%s", exc.message)
                    remaining.pop(0)
        except TransportError as exc:
            if not exc.retryable or retries_left <= 0:
                for sid in remaining:
                    ledger.mark_failed(engine, sid, exc.message)
                    report.failed.append((sid, exc.message))
                report.error = exc
                log.error("giving up on %s: %s", profile.name, exc.message)
                break
            retries_left -= 1
            log.warning("%s; retrying in %.2fs (%d retries left)", exc.message, delay, retries_left)
            sleep(delay)
            delay *= 2
    return report


# --- the whole outbound run --------------------------------------------------------------------

@dataclass
class SendResult:
    prepared: list[PrepareResult]
    delivery: DeliveryReport


def check_readable(path: Path) -> None:
    """Read a whole 837P once (streaming); raises :class:`edi.errors.X12Error` when it is unreadable.

    ``send`` checks every input first, so that one bad file queues nothing of the others."""
    for _ in Parser837(path, path.name).events():
        pass


def lock_dir(settings: Settings) -> Path:
    return private_dir(Path(settings.data_dir))


def send_files(engine: Engine, settings: Settings, profile: ClearinghouseProfile, sources: Iterable[Path], *,
               sleep: Sleep = time.sleep, transport_factory: TransportFactory = open_transport) -> SendResult:
    """Prepare each source (all of them before anything is uploaded), then deliver everything pending.

    Runs under the clearinghouse lock, so two senders never deliver the same row at once.
    """
    paths = [Path(src) for src in sources]
    if len(paths) > 1:      # one unreadable file among several queues nothing of the others
        for p in paths:
            check_readable(p)
    with run_lock(engine, f"ch-{profile.name}", fallback_dir=lock_dir(settings)):
        prepared = [prepare(engine, settings, profile, p) for p in paths]
        delivery = deliver_pending(engine, profile, sleep=sleep, transport_factory=transport_factory)
    return SendResult(prepared, delivery)


@dataclass
class OutboxResult:
    archived: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    prepared: list[PrepareResult] = field(default_factory=list)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)


def run_outbox(engine: Engine, settings: Settings, profile: ClearinghouseProfile, *, sleep: Sleep = time.sleep,
               transport_factory: TransportFactory = open_transport) -> OutboxResult:
    """Send the files dropped in ``outbox_dir``; archive each once all it produced is delivered.

    Dot-names and ``*.part``/``*.tmp`` are ignored (write there under a temporary name and rename).
    An unreadable file is moved to ``held_dir`` with an ``.error.txt`` beside it.
    """
    from edi.errors import X12Error

    result = OutboxResult()
    outbox = private_dir(Path(profile.outbox_dir or Path(settings.data_dir) / "outbox" / profile.name))
    archive = private_dir(Path(profile.archive_dir or Path(settings.data_dir) / "archive" / profile.name))
    held = private_dir(Path(profile.held_dir or Path(settings.data_dir) / "held" / profile.name))
    with run_lock(engine, f"ch-{profile.name}", fallback_dir=lock_dir(settings)):
        files = sorted(p for p in outbox.iterdir()
                       if p.is_file() and not p.name.startswith(".") and p.suffix not in (".part", ".tmp"))
        ready: list[tuple[Path, PrepareResult]] = []
        for path in files:
            try:
                pr = prepare(engine, settings, profile, path)
            except X12Error as exc:
                target = held / path.name
                os.replace(path, target)
                with private_temp(held) as (tmp, f):
                    f.write((str(exc) + "\n").encode())
                    commit(tmp, held / f"{path.name}.error.txt", f)
                result.unreadable.append(path.name)
                log.error("outbox file %s is unreadable, moved to the held folder: %s", path.name, exc)
                continue
            result.prepared.append(pr)
            ready.append((path, pr))
        result.delivery = deliver_pending(engine, profile, sleep=sleep, transport_factory=transport_factory)
        for path, pr in ready:
            if _source_delivered(engine, profile.name, pr.source_sha256):
                stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
                target = archive / path.name
                if target.exists():
                    target = archive / f"{path.stem}.{stamp}{path.suffix}"
                os.replace(path, target)
                os.chmod(target, 0o600)
                result.archived.append(path.name)
            else:
                result.waiting.append(path.name)
    return result


def _source_delivered(engine: Engine, clearinghouse: str, source_sha: str) -> bool:
    from sqlalchemy import select

    from store.ledger import PENDING_STATES, Submission

    with session_scope(engine) as s:
        n = s.scalar(select(Submission.id).where(Submission.clearinghouse == clearinghouse,
                                                 Submission.source_sha256 == source_sha,
                                                 Submission.state.in_(PENDING_STATES)).limit(1))
    return n is None
