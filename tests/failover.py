"""Scheduler failover harness (PostgreSQL + a real sshd): several ``dermedi scheduler run`` processes,
the active one killed with SIGKILL during send cycles, takeover times and the server's files.

Used by tests/test_scheduler_ha.py (a few kills) and bench/failover.py (20+ kills).
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dbfixtures import pg_schema  # noqa: F401  (the scratch schema of the failover tests and bench)
from sqlalchemy import create_engine, text
from sshd import SFTP_USER, ClientKeys, SSHServer, make_837

# the spawned schedulers scrub with the parser only (as the parser_only_scrubber fixture does in process)
SHIM = ("import clearinghouse.scrub as s; s.make_scrubber = lambda _settings: None; "
        "from dermedi.cli import main; main()")


def write_config(folder: Path, server: SSHServer, keys: ClientKeys, url: str, every: str = "every 1s") -> Path:
    kd = folder / "keys"
    kd.mkdir(mode=0o700, exist_ok=True)
    shutil.copyfile(keys.ed25519, kd / "id_ed25519")
    os.chmod(kd / "id_ed25519", 0o600)
    server.write_known_hosts(kd / "known_hosts")
    cfg = folder / "dermedi.toml"
    cfg.write_text(f"""data_dir = "data"
[database]
url = "{url}"

[[clearinghouses]]
name = "acme"
transport = "sftp"
host = "127.0.0.1"
port = {server.port}
username = "{SFTP_USER}"
key_file = "keys/id_ed25519"
known_hosts = "keys/known_hosts"
upload_dir = "to_payer"
response_dir = "from_payer"
schedule = "{every}"
isa_receiver_id = "ACME"
retries = 2
backoff_seconds = 0.2
""")
    return cfg


@dataclass
class Proc:
    popen: subprocess.Popen[str]
    lines: queue.Queue[tuple[float, str]] = field(default_factory=queue.Queue)
    log: list[str] = field(default_factory=list)
    active_at: float | None = None
    standby_at: float | None = None

    def pump(self) -> None:
        while True:
            try:
                t, line = self.lines.get_nowait()
            except queue.Empty:
                return
            self.log.append(line)
            if "scheduler started" in line and self.active_at is None:
                self.active_at = t
            if "standing by" in line and self.standby_at is None:
                self.standby_at = t

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None


def spawn(cfg: Path, *, poll: float = 0.5, heartbeat: float = 0.5, lease: float = 5.0) -> Proc:
    p = subprocess.Popen([sys.executable, "-c", SHIM, "scheduler", "run", "--config", str(cfg),
                          "--standby-poll", str(poll), "--heartbeat", str(heartbeat), "--lease", str(lease)],
                         cwd=cfg.parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    proc = Proc(p)

    def read() -> None:
        assert p.stderr is not None
        for line in p.stderr:
            proc.lines.put((time.monotonic(), line.rstrip("\n")))

    threading.Thread(target=read, daemon=True).start()
    return proc


def wait_until(pred: object, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():  # type: ignore[operator]
            return True
        time.sleep(step)
    return False


@dataclass
class FailoverResult:
    kills: int = 0
    takeovers: list[float] = field(default_factory=list)       # seconds from SIGKILL to the next "started"
    killed_while_running: int = 0
    files_dropped: int = 0
    files_on_server: int = 0
    duplicates: int = 0
    missing: int = 0
    leftover_parts: int = 0
    interrupted_runs: int = 0
    connection_cuts: int = 0
    notes: list[str] = field(default_factory=list)


def _terminate_lock_session(url: str) -> None:
    """End the server session holding the scheduler's advisory lock (a lost connection)."""
    from clearinghouse.locks import _key
    from clearinghouse.scheduler import SCHEDULER_LOCK

    key = _key(SCHEDULER_LOCK)
    eng = create_engine(url)
    try:
        with eng.connect() as c:
            c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                           "AND classid = ((CAST(:k AS bigint) >> 32) & 4294967295)::oid "
                           "AND objid = (CAST(:k AS bigint) & 4294967295)::oid"), {"k": key})
            c.commit()
    finally:
        eng.dispose()


def _running_runs(url: str) -> int:
    eng = create_engine(url)
    try:
        with eng.connect() as c:
            return int(c.execute(text("SELECT count(*) FROM ch_scheduler_runs WHERE outcome = 'running'")).scalar()
                       or 0)
    except Exception:
        return 0
    finally:
        eng.dispose()


def run_failover(tmp: Path, server: SSHServer, keys: ClientKeys, url: str, *, kills: int, files_per_cycle: int = 2,
                 padding: int = 300, takeover_limit: float = 60.0,
                 on_ready: Callable[[Path], None] | None = None, cut_connection_every: int = 0) -> FailoverResult:
    """Two schedulers (a third is started after each kill, so two always run); before each kill,
    (with ``cut_connection_every`` k: every k-th time, instead of SIGKILL, the active one's lock
    connection is terminated on the server, as when its connection is lost; it must stop itself),
    drop files in the outbox and SIGKILL the active one while a run is in progress (or, if none
    starts within 10 s, anyway).  At the end, wait until the outbox is empty and compare the
    server's files with the files dropped."""
    from store import migrate

    migrate(url)
    cfg = write_config(tmp, server, keys, url)
    outbox = tmp / "data" / "outbox" / "acme"
    outbox.mkdir(parents=True, exist_ok=True)
    res = FailoverResult()
    dropped: list[str] = []
    procs = [spawn(cfg), spawn(cfg)]
    seq = 0
    try:
        def active() -> Proc | None:
            for p in procs:
                p.pump()
            live = [p for p in procs if p.alive and p.active_at is not None]
            return live[-1] if live else None

        if not wait_until(lambda: active() is not None, 60):
            raise RuntimeError("no scheduler became active: " + " | ".join(procs[0].log[-5:] + procs[1].log[-5:]))
        if on_ready is not None:
            wait_until(lambda: all(p.pump() or p.standby_at or p.active_at for p in procs), 30)
            on_ready(cfg)
        for _ in range(kills):
            victim = active()
            assert victim is not None
            for _f in range(files_per_cycle):
                seq += 1
                cid = f"F{seq:05d}"
                tmp_file = tmp / f".{cid}.837"
                make_837(tmp_file, [cid], padding=padding)
                os.replace(tmp_file, outbox / f"{cid}.837")   # appears whole
                dropped.append(cid)
            running = wait_until(lambda: _running_runs(url) > 0, 10, 0.02)
            cut = cut_connection_every > 0 and (res.kills + 1) % cut_connection_every == 0
            killed_at = time.monotonic()
            if cut:
                _terminate_lock_session(url)
                try:
                    rc = victim.popen.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    res.notes.append("the active scheduler did not stop after losing its connection")
                    victim.popen.kill()
                    rc = victim.popen.wait()
                res.connection_cuts += 1
                if rc != 5:
                    res.notes.append(f"exit code {rc} after the connection cut (5 expected)")
            else:
                os.kill(victim.popen.pid, signal.SIGKILL)
                victim.popen.wait()
            res.kills += 1
            res.killed_while_running += 1 if running else 0
            procs.append(spawn(cfg))          # the replacement stands by
            others = [p for p in procs if p is not victim and p.alive]
            took = wait_until(lambda o=others, k=killed_at: any(p.pump() or (p.active_at or 0) > k for p in o),
                              takeover_limit + 30)
            if not took:
                res.notes.append("no takeover")
                break
            new = min((p.active_at for p in others if (p.active_at or 0) > killed_at), default=None)
            res.takeovers.append((new or killed_at) - killed_at)
        # let the last active one send everything
        wait_until(lambda: not any(outbox.glob("*.837")) and _running_runs(url) == 0, 120, 0.2)
        time.sleep(1.5)
    finally:
        for p in procs:
            if p.alive:
                p.popen.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.popen.kill()
                p.popen.wait()
    res.files_dropped = len(dropped)
    seen: dict[str, int] = {}
    for name in server.complete_files("to_payer"):
        data = (server.data / "to_payer" / name).read_text(errors="replace")
        for cid in dropped:
            if f"CLM*{cid}*" in data:
                seen[cid] = seen.get(cid, 0) + 1
    res.files_on_server = len(server.complete_files("to_payer"))
    res.duplicates = sum(n - 1 for n in seen.values() if n > 1)
    res.missing = sum(1 for cid in dropped if cid not in seen)
    res.leftover_parts = len(server.temp_files("to_payer"))
    eng = create_engine(url)
    try:
        with eng.connect() as c:
            res.interrupted_runs = int(c.execute(text(
                "SELECT count(*) FROM ch_scheduler_runs WHERE outcome = 'interrupted'")).scalar() or 0)
    finally:
        eng.dispose()
    return res
