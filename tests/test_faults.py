"""Fault-injection loop against a REAL OpenSSH sshd: >= 100 faults, then 0 duplicates and 0 losses.

Each round queues a new small 837P file, injects one fault while delivering everything pending,
undoes the fault, and now and then lets "the clearinghouse" pick up the complete files (moved to
``picked/``, so a second upload of the same content would show as a second file there).  At the
end one clean run delivers the backlog and every queued file must be on the server exactly once,
byte for byte, with no stray temporary file.

Fault kinds: transient (proxy cuts the TCP connection early or mid-transfer, twice in a row,
proxy stalls, sshd session SIGKILLed mid-upload, connection refused, disk full) and permanent
(host key changed, unknown host, key not authorized, permission denied, remote folder missing),
plus process crashes (before the rename, after the rename, after the rename with the file picked
up before the next run).
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import socket
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import paramiko
import pytest
from sqlalchemy import func, select
from sshd import (  # noqa: F401
    ClientKeys,
    Env,
    FaultProxy,
    SSHServer,
    client_keys,
    make_837,
    no_sleep,
    parser_only_scrubber,
    sshd_server,
)

from clearinghouse import ledger
from clearinghouse.connect import open_transport
from clearinghouse.errors import AuthError, HostKeyError, RemotePathError, TransientError
from clearinghouse.sftp import SFTPTransport
from clearinghouse.submit import DeliveryReport, deliver_pending, prepare
from config.settings import ClearinghouseProfile
from store import session_scope
from store.ledger import Submission

pytestmark = [pytest.mark.sshd, pytest.mark.slow, pytest.mark.usefixtures("parser_only_scrubber")]

MIN_FAULTS = 100


class Crash(Exception):
    """The process dies here (nothing in dermedi catches it)."""


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _mount_tmpfs(path: Path, size: str) -> bool:
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def test_fault_injection_loop(tmp_path: Path, sshd_server: SSHServer, client_keys: ClientKeys,  # noqa: F811
                              monkeypatch: pytest.MonkeyPatch) -> None:
    server = sshd_server
    spool = server.data / "spool"
    spool.mkdir()
    mounted = _mount_tmpfs(spool, "4m")
    up = spool / "to_payer"
    up.mkdir()
    os.chown(spool, server.user.pw_uid, server.user.pw_gid)
    os.chown(up, server.user.pw_uid, server.user.pw_gid)
    picked = tmp_path / "picked"
    picked.mkdir()
    proxy = FaultProxy(server.port)
    env = Env(tmp_path, server, client_keys, port=proxy.port, upload_dir="spool/to_payer", retries=2,
              backoff_seconds=0.001, connect_timeout=2.0, banner_timeout=1.0, auth_timeout=2.0,
              channel_timeout=0.5, keepalive=2)
    good_known_hosts = server.known_hosts_line() + server.known_hosts_line().replace(
        f"]:{server.port}", f"]:{proxy.port}")
    env.known_hosts.write_text(good_known_hosts)
    other = SSHServer()  # only for a different host key
    wrong_known_hosts = good_known_hosts.replace(server.known_hosts_line().split()[2],
                                                 other.known_hosts_line().split()[2])
    other.cleanup()

    rng = random.Random(20261123)
    kinds = ["cut_early", "cut_late", "cut_twice", "stall", "kill", "refused", "crash_before_rename",
             "crash_after_rename", "crash_after_rename_pickup", "hostkey", "unknown_host", "auth", "perm",
             "missing"] + (["disk_full"] if mounted else [])
    injected: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    state: dict[str, Any] = {"kill": False, "killed": 0, "refuse_next": False, "picked": 0}

    real_put = paramiko.SFTPClient.put

    def put(self: paramiko.SFTPClient, localpath: str, remotepath: str, callback: Any = None,
            confirm: bool = True) -> Any:
        def progress(done: int, total: int) -> None:
            if state["kill"] and done > total // 3:
                state["kill"] = False
                state["killed"] += server.kill_sessions()
        return real_put(self, localpath, remotepath, callback=progress, confirm=confirm)

    monkeypatch.setattr(paramiko.SFTPClient, "put", put)

    def factory(profile: ClearinghouseProfile) -> Any:
        if state["refuse_next"]:
            state["refuse_next"] = False
            profile = profile.model_copy(update={"port": _closed_port()})
        return open_transport(profile)

    def pickup() -> None:
        for n in sorted(os.listdir(up)):
            if not n.startswith(".") and n != "FILLER":
                state["picked"] += 1
                shutil.move(str(up / n), str(picked / f"{state['picked']:05d}_{n}"))

    def run(profile: ClearinghouseProfile) -> DeliveryReport | None:
        try:
            return deliver_pending(env.engine, profile, sleep=no_sleep, transport_factory=factory)
        except Crash:
            return None

    round_no = 0
    try:
        while sum(injected.values()) < MIN_FAULTS + 20:
            round_no += 1
            kind = kinds[(round_no - 1) % len(kinds)]
            src = make_837(tmp_path / f"r{round_no}.837", [f"F{round_no}A", f"F{round_no}B"],
                           padding=rng.randint(0, 12))
            prepare(env.engine, env.settings, env.profile, src)
            profile = env.profile
            fired_before = len(proxy.faults_fired)
            undo: list[Any] = []
            if kind == "cut_early":
                proxy.plan.append(("cut", rng.randint(100, 3000)))
            elif kind == "cut_late":
                proxy.plan.append(("cut", rng.randint(3500, 9000)))
            elif kind == "cut_twice":
                proxy.plan.extend([("cut", rng.randint(100, 9000)), ("cut", rng.randint(100, 9000))])
            elif kind == "stall":
                proxy.plan.append(("stall", rng.randint(100, 9000)))
            elif kind == "kill":
                state["kill"] = True
            elif kind == "refused":
                state["refuse_next"] = True
            elif kind in ("crash_before_rename", "crash_after_rename", "crash_after_rename_pickup"):
                target, attr = ((SFTPTransport, "rename") if kind == "crash_before_rename"
                                else (ledger, "mark_sent"))
                real = getattr(target, attr)

                def crashing(*_a: Any, **_k: Any) -> Any:
                    # before_rename: the part is complete and recorded, the rename never happens;
                    # after_rename: the file is in place, the ledger update never happens
                    raise Crash

                monkeypatch.setattr(target, attr, crashing)
                undo.append(lambda t=target, a=attr, r=real: monkeypatch.setattr(t, a, r))
            elif kind == "hostkey":
                env.known_hosts.write_text(wrong_known_hosts)
                undo.append(lambda: env.known_hosts.write_text(good_known_hosts))
            elif kind == "unknown_host":
                env.known_hosts.write_text("")
                undo.append(lambda: env.known_hosts.write_text(good_known_hosts))
            elif kind == "auth":
                profile = profile.model_copy(update={"key_file": str(client_keys.stranger)})
            elif kind == "perm":
                os.chmod(up, 0o555)
                undo.append(lambda: os.chmod(up, 0o755))
            elif kind == "missing":
                os.rename(up, spool / "gone")
                undo.append(lambda: os.rename(spool / "gone", up))
            elif kind == "disk_full":
                free = shutil.disk_usage(spool).free
                with open(up / "FILLER", "wb") as f:
                    f.write(b"\0" * free)
                undo.append(lambda: os.unlink(up / "FILLER"))

            rep = run(profile)
            for u in undo:
                u()

            # was the fault really injected?
            fired = False
            if kind.startswith("cut") or kind == "stall":
                n = len(proxy.faults_fired) - fired_before
                fired = n > 0
                proxy.plan.clear()
                if kind == "cut_twice" and n == 2:
                    injected[kind] += 1  # counts twice
            elif kind == "kill":
                fired = state["killed"] > 0 and not state["kill"]
                state["kill"], state["killed"] = False, 0
            elif kind == "refused":
                fired = not state["refuse_next"]
            elif kind.startswith("crash"):
                fired = rep is None
                if kind == "crash_after_rename_pickup":
                    pickup()  # the clearinghouse takes the file before dermedi restarts
            elif kind == "hostkey":
                fired = rep is not None and isinstance(rep.error, HostKeyError)
            elif kind == "unknown_host":
                fired = rep is not None and isinstance(rep.error, HostKeyError) and "UNKNOWN" in rep.error.message
            elif kind == "auth":
                fired = rep is not None and isinstance(rep.error, AuthError)
            elif kind in ("perm", "missing"):
                fired = rep is not None and isinstance(rep.error, RemotePathError)
            elif kind == "disk_full":
                fired = rep is not None and isinstance(rep.error, TransientError)
            if fired:
                injected[kind] += 1
            outcomes["crashed" if rep is None else "ok" if rep.ok else "failed"] += 1
            if rng.random() < 0.5:
                pickup()

        # the backlog goes out with one clean run (more only if a busy machine makes it time out)
        relaxed = env.profile.model_copy(update={"channel_timeout": 10.0, "retries": 4})
        for _ in range(3):
            final = deliver_pending(env.engine, relaxed, sleep=no_sleep, transport_factory=factory)
            if final.ok:
                break
        assert final.ok, final.error
        pickup()
        stray = [n for n in os.listdir(up) if n != "FILLER"]
    finally:
        proxy.close()
        if mounted:
            subprocess.run(["umount", "-l", str(spool)], check=False)

    with session_scope(env.engine) as s:
        subs = list(s.scalars(select(Submission)))
        attempts = int(s.scalar(select(func.sum(Submission.attempts))) or 0)
        states = Counter(x.state for x in subs)
        expected = {x.file_sha256: x.remote_name for x in subs}
    on_server = Counter(hashlib.sha256((picked / n).read_bytes()).hexdigest() for n in os.listdir(picked))
    duplicates = sum(c - 1 for c in on_server.values() if c > 1)
    losses = sum(1 for sha in expected if on_server[sha] == 0)
    unknown = sum(c for sha, c in on_server.items() if sha not in expected)  # truncated or foreign files
    figures = {
        "rounds": round_no, "faults_injected": sum(injected.values()), "by_kind": dict(sorted(injected.items())),
        "run_outcomes": dict(outcomes), "files_queued": len(subs), "uploads_attempted": attempts,
        "files_on_server": sum(on_server.values()), "duplicates": duplicates, "losses": losses,
        "corrupt_or_unknown": unknown, "stray_temp_files": len(stray), "ledger_states": dict(states),
        "disk_full_via_tmpfs": mounted,
    }
    print("\nFAULT LOOP FIGURES:", figures)
    assert sum(injected.values()) >= MIN_FAULTS
    assert all(injected[k] > 0 for k in kinds), injected
    assert duplicates == 0 and losses == 0 and unknown == 0
    assert stray == [] and sum(on_server.values()) == len(subs)
    assert states == Counter({"sent": len(subs)})
