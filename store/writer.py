"""A writer process for the records of a big send: scrub runs and submitted claims written beside the scrub.

A ``send`` spends about as long storing what it sent (a one-claim 837P per claim, the scrub run and
its findings) as parsing and scrubbing it.  For a big input the command hands these rows, as plain
tuples (:data:`store.records.RunData`, :data:`store.records.SubmittedData`), to a process of its own
that writes them in its transaction while the command reads and scrubs the next claims: two cores
instead of one.

What holds as in the command's own process:

* the same rows (the writer calls :func:`store.records.write_scrub_runs` and
  :func:`store.records.write_submitted`);
* nothing is committed but when the command asks (:meth:`RecordWriter.commit` waits for it, and
  raises :class:`RecordWriterError` if any write failed; :meth:`RecordWriter.checkpoint` commits
  without waiting, a failure then being raised by the next commit);
* a command that dies (kill -9 included) leaves the writer's open transaction uncommitted: the
  writer reads end-of-file on its pipe, rolls back and exits; a writer that dies makes the command's
  next commit fail, so nothing of the file is queued.

Errors cross the pipe as the exception's type and SQLSTATE only (a database's message can quote the
values of a row, i.e. PHI).
"""

from __future__ import annotations

import signal
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

from sqlalchemy.orm import Session


class RecordWriterError(RuntimeError):
    """The writer process failed or went away; nothing it held is committed."""


def _describe(exc: BaseException) -> str:
    code = getattr(getattr(exc, "orig", None), "sqlstate", None) or getattr(exc, "code", None)
    return f"{type(exc).__name__}" + (f" ({code})" if code else "")


def _serve(conn: Connection) -> None:
    """The writer process: apply the messages of ``conn`` in one transaction between two commits."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # the command stops the writer itself on Ctrl-C
    from store import make_engine, session_maker
    from store.records import write_scrub_runs, write_submitted

    try:
        kind, url = conn.recv()
    except (EOFError, OSError):
        return
    if kind != "open":
        return
    engine = make_engine(url)
    make = session_maker(engine)
    session: Session | None = None
    failed: str | None = None

    def end(commit: bool) -> None:
        nonlocal session
        if session is not None:
            s, session = session, None
            try:
                if commit:
                    s.commit()
                else:
                    s.rollback()
            finally:
                s.close()

    try:
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                return                               # the command is gone: nothing more is committed
            kind = msg[0]
            if kind == "stop":
                return
            if kind in ("checkpoint", "commit"):
                if failed is None:
                    try:
                        end(True)
                    except Exception as exc:
                        failed = _describe(exc)
                if kind == "commit":                 # a checkpoint's answer waits for the next commit
                    end(False)
                    conn.send(("ok",) if failed is None else ("error", failed))
                    failed = None
                continue
            if failed is not None:
                continue                             # reported at the next commit
            try:
                if session is None:
                    session = make()
                    session.begin()
                _, data, file_sha256, at = msg
                if kind == "runs":
                    write_scrub_runs(session, data, file_sha256=file_sha256, scrubbed_at=at)
                elif kind == "submitted":
                    write_submitted(session, data, file_sha256=file_sha256, submitted_at=at)
                else:
                    raise ValueError(f"unknown message {kind!r}")
            except Exception as exc:
                failed = _describe(exc)
    finally:
        try:
            end(False)
        finally:
            engine.dispose()


class RecordWriter:
    """The command's side of the writer process (see the module docstring).

    The process is ``python -m store.writer FD``, started with :mod:`subprocess` (not
    :mod:`multiprocessing`, which would import the caller's main module again), talking over a socket
    pair; the database URL is its first message, so no password shows in a process listing.  Messages
    go out through a thread and a bounded queue, so the command does not wait while the process starts
    or writes (it waits when :data:`QUEUE` messages are in flight, and at a commit)."""

    QUEUE = 8

    def __init__(self, url: str) -> None:
        import os
        import queue
        import socket
        import subprocess
        import sys
        import threading
        from pathlib import Path

        ours, theirs = socket.socketpair()
        root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])]))
        try:
            self._proc = subprocess.Popen([sys.executable, "-m", "store.writer", str(theirs.fileno())],
                                          pass_fds=[theirs.fileno()], env=env, stdin=subprocess.DEVNULL)
        finally:
            theirs.close()
        self._conn = Connection(ours.detach())
        self._queue: queue.Queue[tuple[Any, ...] | None] = queue.Queue(self.QUEUE)
        self._gone: str | None = None
        self._thread = threading.Thread(target=self._pump, name="dermedi-records-sender", daemon=True)
        self._thread.start()
        self._send(("open", url))

    def _pump(self) -> None:
        """The sender thread: messages of the queue to the process, then (at the end) reap it."""
        while True:
            msg = self._queue.get()
            if msg is None:
                break
            if self._gone is None:
                try:
                    self._conn.send(msg)
                except (OSError, ValueError) as exc:
                    self._gone = type(exc).__name__
        try:
            self._proc.wait(60)
        except Exception:
            self._proc.kill()
            self._proc.wait()

    def _send(self, msg: tuple[Any, ...]) -> None:
        if self._gone is not None:
            raise RecordWriterError(f"the record writer process is gone ({self._gone})")
        self._queue.put(msg)

    def _reply(self) -> None:
        try:
            reply = self._conn.recv()
        except (EOFError, OSError):
            raise RecordWriterError("the record writer process is gone") from None
        if reply[0] != "ok":
            raise RecordWriterError(f"writing the send's records failed: {reply[1]}")

    def runs(self, data: list[Any], *, file_sha256: str, at: datetime) -> None:
        if data:
            self._send(("runs", data, file_sha256, at))

    def submitted(self, data: list[Any], *, file_sha256: str, at: datetime) -> None:
        if data:
            self._send(("submitted", data, file_sha256, at))

    def commit(self) -> None:
        """Commit what was sent so far; raises :class:`RecordWriterError` if any of it failed."""
        self._send(("commit",))
        self._reply()

    def checkpoint(self) -> None:
        """Commit what was sent so far without waiting (a failure is raised by the next :meth:`commit`)."""
        self._send(("checkpoint",))

    def close(self) -> None:
        """Stop the process: what it holds uncommitted is rolled back.  Does not wait for it to exit
        (it holds no lock once its last commit or rollback is answered); the sender thread reaps it."""
        self._queue.put(("stop",))
        self._queue.put(None)

    @property
    def pid(self) -> int | None:
        return self._proc.pid


__all__ = ["RecordWriter", "RecordWriterError"]


if __name__ == "__main__":
    import sys

    try:
        _serve(Connection(int(sys.argv[1])))
    except BaseException as exc:     # one line, the type only: a message could quote a row (PHI)
        sys.stderr.write(f"dermedi record writer: {type(exc).__name__}\n")
        sys.exit(1)
