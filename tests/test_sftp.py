"""SFTP transport against a REAL OpenSSH sshd on 127.0.0.1 (tests/sshd.py): happy path and faults."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import paramiko
import pytest
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
from x12util import pyx12_errors

from clearinghouse import ledger
from clearinghouse.connect import open_transport
from clearinghouse.errors import AuthError, HostKeyError, LocalConfigError, RemotePathError, TransientError
from clearinghouse.naming import remote_name, sanitize
from clearinghouse.sftp import SFTPTransport
from clearinghouse.submit import deliver_pending, prepare, send_files
from config.settings import ClearinghouseProfile

pytestmark = [pytest.mark.sshd, pytest.mark.usefixtures("parser_only_scrubber")]


@pytest.fixture
def env(tmp_path: Path, sshd_server: SSHServer, client_keys: ClientKeys) -> Any:  # noqa: F811
    e = Env(tmp_path, sshd_server, client_keys)
    yield e
    e.close()


class Counting:
    """A transport factory that counts connections (and can route them through a proxy)."""

    def __init__(self, proxy_port: int | None = None, first_only: bool = True) -> None:
        self.calls = 0
        self.proxy_port = proxy_port
        self.first_only = first_only

    def __call__(self, profile: ClearinghouseProfile) -> Any:
        self.calls += 1
        if self.proxy_port is not None and (self.calls == 1 or not self.first_only):
            profile = profile.model_copy(update={"port": self.proxy_port})
        return open_transport(profile)


def _known_hosts_for(port: int, server: SSHServer, path: Path) -> None:
    line = server.known_hosts_line().replace(f"[127.0.0.1]:{server.port}", f"[127.0.0.1]:{port}")
    path.write_text(line)


def test_happy_path_one_complete_file_only_clean_claims(env: Env, tmp_path: Path) -> None:
    src = make_837(tmp_path / "batch.837", ["C1", "C2", "BAD3"], held=("BAD3",))
    result = send_files(env.engine, env.settings, env.profile, [src], sleep=no_sleep)
    assert result.delivery.ok and len(result.delivery.sent) == 1
    pr = result.prepared[0]
    assert (pr.claims_read, pr.clean, pr.held) == (3, 2, 1)
    files = env.server.complete_files()
    assert len(files) == 1 and env.server.temp_files() == []
    uploaded = env.server.data / "to_payer" / files[0]
    text = uploaded.read_text()
    assert "CLM*C1*" in text and "CLM*C2*" in text and "BAD3" not in text
    isa = text.split("~")[0].split("*")
    assert isa[8].strip() == "TESTCH" and isa[15] == env.profile.isa_usage_indicator
    sub = ledger.get(env.engine, result.delivery.sent[0])
    assert sub.state == "sent" and isa[13] == f"{sub.isa13:09d}"
    assert pyx12_errors(uploaded) == []
    # the held claim is kept locally with its report, 0600
    assert pr.held_path is not None and "BAD3" in pr.held_path.read_text()
    assert (pr.held_path.stat().st_mode & 0o777) == 0o600
    assert pr.report_path is not None and "BAD3" in pr.report_path.read_text()
    # the local copy of what was sent is 0600 in a 0700 folder
    local = Path(sub.local_path)
    assert local.read_bytes() == uploaded.read_bytes()
    assert (local.stat().st_mode & 0o777) == 0o600 and (local.parent.stat().st_mode & 0o777) == 0o700

    again = send_files(env.engine, env.settings, env.profile, [src], sleep=no_sleep)
    assert again.delivery.sent == [] and again.prepared[0].queued == []
    assert again.prepared[0].already_submitted == 2
    assert env.server.complete_files() == files


def test_rsa_key_and_plain_rename(env: Env, tmp_path: Path) -> None:
    profile = env.profile.model_copy(update={"key_file": str(env.keys.rsa), "posix_rename": False})
    src = make_837(tmp_path / "b.837", ["R1"])
    prepare(env.engine, env.settings, profile, src)
    rep = deliver_pending(env.engine, profile, sleep=no_sleep)
    assert rep.ok and len(env.server.complete_files()) == 1 and env.server.temp_files() == []


def test_host_key_changed_nothing_uploaded_not_retried(env: Env, tmp_path: Path) -> None:
    env.server.change_host_key()
    prepare(env.engine, env.settings, env.profile, make_837(tmp_path / "b.837", ["H1"]))
    factory = Counting()
    rep = deliver_pending(env.engine, env.profile, sleep=no_sleep, transport_factory=factory)
    assert isinstance(rep.error, HostKeyError) and "MISMATCH" in rep.error.message
    assert factory.calls == 1  # never retried
    assert env.server.files() == []
    sid = rep.failed[0][0]
    assert ledger.get(env.engine, sid).state == "failed"


def test_unknown_host_refused(env: Env, tmp_path: Path) -> None:
    env.known_hosts.write_text("[127.0.0.1]:1 ssh-ed25519 " + env.server.known_hosts_line().split()[2] + "\n")
    t = SFTPTransport(env.profile)
    with pytest.raises(HostKeyError, match="UNKNOWN HOST"):
        t.connect()
    assert env.known_hosts.read_text().count("\n") == 1  # never auto-added


def test_key_not_authorized(env: Env, tmp_path: Path) -> None:
    profile = env.profile.model_copy(update={"key_file": str(env.keys.stranger)})
    with pytest.raises(AuthError, match="authorized_keys"):
        SFTPTransport(profile).connect()
    prepare(env.engine, env.settings, profile, make_837(tmp_path / "b.837", ["A1"]))
    factory = Counting()
    rep = deliver_pending(env.engine, profile, sleep=no_sleep, transport_factory=factory)
    assert isinstance(rep.error, AuthError) and factory.calls == 1  # never retried
    assert env.server.files() == []


def test_group_readable_key_refused_before_connecting(env: Env, tmp_path: Path) -> None:
    key = tmp_path / "loose_key"
    key.write_bytes(env.keys.ed25519.read_bytes())
    os.chmod(key, 0o640)
    proxy = FaultProxy(env.server.port)
    try:
        _known_hosts_for(proxy.port, env.server, env.known_hosts)
        profile = env.profile.model_copy(update={"key_file": str(key), "port": proxy.port})
        with pytest.raises(LocalConfigError, match="chmod 600"):
            SFTPTransport(profile).connect()
        assert proxy.connections == 0
    finally:
        proxy.close()


def test_permission_denied_then_fixed(env: Env, tmp_path: Path) -> None:
    up = env.server.data / "to_payer"
    os.chmod(up, 0o555)
    prepare(env.engine, env.settings, env.profile, make_837(tmp_path / "b.837", ["P1"]))
    factory = Counting()
    rep = deliver_pending(env.engine, env.profile, sleep=no_sleep, transport_factory=factory)
    assert isinstance(rep.error, RemotePathError) and factory.calls == 1
    assert env.server.files() == []
    os.chmod(up, 0o755)
    rep = deliver_pending(env.engine, env.profile, sleep=no_sleep)
    assert rep.ok and len(env.server.complete_files()) == 1 and env.server.temp_files() == []


def test_missing_remote_folder(env: Env, tmp_path: Path) -> None:
    profile = env.profile.model_copy(update={"upload_dir": "no_such_folder"})
    prepare(env.engine, env.settings, profile, make_837(tmp_path / "b.837", ["M1"]))
    factory = Counting()
    rep = deliver_pending(env.engine, profile, sleep=no_sleep, transport_factory=factory)
    assert isinstance(rep.error, RemotePathError) and factory.calls == 1
    assert "no such" in rep.error.message


def _can_mount() -> bool:
    probe = Path("/tmp/dermedi-mount-probe")
    probe.mkdir(exist_ok=True)
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)],
                        capture_output=True).returncode == 0
    if ok:
        subprocess.run(["umount", str(probe)], check=True)
    probe.rmdir()
    return ok


@pytest.mark.skipif(os.geteuid() != 0 or not _can_mount(), reason="needs root and tmpfs mounts")
def test_disk_full_short_write_is_caught_and_cleaned(env: Env, tmp_path: Path) -> None:
    up = env.server.data / "to_payer"
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs", str(up)], check=True)
    try:
        os.chown(up, env.server.user.pw_uid, env.server.user.pw_gid)
        # ~600 KiB of claims into a 256 KiB file system: paramiko would silently drop the write error
        src = make_837(tmp_path / "big.837", ["D1"], padding=1600)
        assert src.stat().st_size > 300 * 1024
        prepare(env.engine, env.settings, env.profile, src)
        factory = Counting()
        rep = deliver_pending(env.engine, env.profile, sleep=no_sleep, transport_factory=factory)
        assert isinstance(rep.error, TransientError) and factory.calls == env.profile.retries + 1
        assert env.server.files() == []  # no truncated final file, no stray .part
        sid = rep.failed[0][0]
        assert ledger.get(env.engine, sid).state == "failed"
    finally:
        subprocess.run(["umount", str(up)], check=True)
    rep = deliver_pending(env.engine, env.profile, sleep=no_sleep)
    assert rep.ok and len(env.server.complete_files()) == 1 and env.server.temp_files() == []
    final = env.server.data / "to_payer" / env.server.complete_files()[0]
    assert final.read_bytes() == Path(ledger.get(env.engine, sid).local_path).read_bytes()


def test_session_killed_mid_upload_retried_exactly_one_file(env: Env, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    src = make_837(tmp_path / "big.837", ["K1"], padding=400)  # ~150 KiB
    prepare(env.engine, env.settings, env.profile, src)
    up = env.server.data / "to_payer"
    killed: list[int] = []
    real_put = paramiko.SFTPClient.put

    def put(self: paramiko.SFTPClient, localpath: str, remotepath: str, callback: Any = None,
            confirm: bool = True) -> Any:
        def progress(done: int, total: int) -> None:
            if not killed and done > total // 3:
                killed.append(env.server.kill_sessions())  # SIGKILL the server side of this session
                time.sleep(0.2)
        return real_put(self, localpath, remotepath, callback=progress, confirm=confirm)

    monkeypatch.setattr(paramiko.SFTPClient, "put", put)
    factory = Counting()
    rep = deliver_pending(env.engine, env.profile, sleep=no_sleep, transport_factory=factory)
    assert killed and killed[0] > 0, "the session was not killed during the upload"
    assert rep.ok and factory.calls == 2 and rep.attempted == 2
    assert len(env.server.complete_files()) == 1 and env.server.temp_files() == []
    assert (up / env.server.complete_files()[0]).read_bytes() == \
        Path(ledger.get(env.engine, rep.sent[0]).local_path).read_bytes()


@pytest.mark.parametrize("mode", ["stall", "cut"])
def test_stalling_or_cutting_proxy_retried(env: Env, tmp_path: Path, mode: str) -> None:
    proxy = FaultProxy(env.server.port)
    try:
        # the proxy is pinned under its own port; only the first connection goes through it
        with env.known_hosts.open("a") as f:
            f.write(env.server.known_hosts_line().replace(f"]:{env.server.port}", f"]:{proxy.port}"))
        proxy.plan.append((mode, 100_000))  # well into the upload of a ~150 KiB file
        profile = env.profile.model_copy(update={"channel_timeout": 1.0})
        prepare(env.engine, env.settings, profile, make_837(tmp_path / "b.837", ["S1"], padding=400))
        factory = Counting(proxy.port)
        rep = deliver_pending(env.engine, profile, sleep=no_sleep, transport_factory=factory)
        assert proxy.faults_fired == [(mode, 100_000)]
        assert rep.ok and factory.calls == 2
        assert len(env.server.complete_files()) == 1 and env.server.temp_files() == []
    finally:
        proxy.close()


def test_server_down_retried_with_backoff_then_transport_error(env: Env, tmp_path: Path) -> None:
    env.server.stop()
    prepare(env.engine, env.settings, env.profile, make_837(tmp_path / "b.837", ["N1"]))
    sleeps: list[float] = []
    factory = Counting()
    rep = deliver_pending(env.engine, env.profile, sleep=sleeps.append, transport_factory=factory)
    assert isinstance(rep.error, TransientError)
    assert factory.calls == env.profile.retries + 1
    assert sleeps == [0.01, 0.02, 0.04]  # exponential backoff
    env.server.start()
    rep = deliver_pending(env.engine, env.profile, sleep=no_sleep)
    assert rep.ok and len(env.server.complete_files()) == 1


def test_failed_connect_closes_the_client(env: Env) -> None:
    profile = env.profile.model_copy(update={"key_file": str(env.keys.stranger)})
    for _ in range(5):
        with pytest.raises(AuthError):
            SFTPTransport(profile).connect()
    deadline = time.monotonic() + 5
    while env.server.session_count() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert env.server.session_count() == 0


def test_silent_server_is_a_transient_timeout(env: Env) -> None:
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)
    try:
        port = silent.getsockname()[1]
        profile = env.profile.model_copy(update={"port": port, "connect_timeout": 1.0, "banner_timeout": 0.5})
        with pytest.raises(TransientError):
            SFTPTransport(profile).connect()
    finally:
        silent.close()


def test_password_never_used_unless_configured(env: Env) -> None:
    with pytest.raises(ValueError, match="key_file"):
        ClearinghouseProfile(name="x", username="u", known_hosts="k")  # neither key nor allow_password
    seen: dict[str, Any] = {}
    real = paramiko.SSHClient.connect

    def spy(self: paramiko.SSHClient, *a: Any, **kw: Any) -> None:
        seen.update(kw)
        real(self, *a, **kw)

    paramiko.SSHClient.connect = spy  # type: ignore[method-assign]
    try:
        with SFTPTransport(env.profile) as t:
            assert t.list_dir("to_payer") == []
    finally:
        paramiko.SSHClient.connect = real  # type: ignore[method-assign]
    assert seen["password"] is None and seen["look_for_keys"] is False and seen["allow_agent"] is False
    assert seen["timeout"] > seen["banner_timeout"]
    assert seen["channel_timeout"] == env.profile.channel_timeout


def test_remote_names_are_sanitized() -> None:
    bad = "a b'c\"d(e)f[g]h{i}j/k,l$m@n&o=p+q*r#s!t%u`v|w?x<y>z;.837"
    clean = sanitize(bad)
    assert not set(clean) & set(" '\"()[]{}/,$@&=+*#!%`|?<>;")
    name = remote_name("{name}_{control}_{timestamp}.x12", name="../../etc/passwd x", control=42)
    assert "/" not in name and " " not in name and "_000000042_" in name and not name.startswith(".")


def test_max_file_size_refused(env: Env, tmp_path: Path) -> None:
    profile = env.profile.model_copy(update={"max_file_size": 100})
    prepare(env.engine, env.settings, profile, make_837(tmp_path / "b.837", ["Z1"]))
    rep = deliver_pending(env.engine, profile, sleep=no_sleep)
    assert isinstance(rep.error, LocalConfigError) and "max_file_size" in rep.error.message
    assert env.server.files() == []
