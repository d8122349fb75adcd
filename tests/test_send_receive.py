"""End to end through the CLI against a real sshd: send exactly once, receive exactly once, crash recovery."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sshd import (  # noqa: F401
    SFTP_USER,
    ClientKeys,
    Env,
    SSHServer,
    client_keys,
    make_837,
    no_sleep,
    parser_only_scrubber,
    sshd_server,
)
from typer.testing import CliRunner

import dermedi.cli.ch_cmds  # noqa: F401  (registers the commands)
from clearinghouse import ledger
from clearinghouse.receive import receive
from clearinghouse.submit import deliver_pending, prepare
from dermedi.cli.app import app
from store import session_scope
from store.ledger import ResponseFile, Submission

pytestmark = [pytest.mark.sshd, pytest.mark.usefixtures("parser_only_scrubber")]
REPO = Path(__file__).resolve().parent.parent
SAMPLE_835 = REPO / "samples" / "remit-medicare-mb.835"


def write_config(folder: Path, server: SSHServer, keys: ClientKeys) -> Path:
    """A dermedi.toml with exactly the documented keys (relative paths)."""
    kd = folder / "keys"
    kd.mkdir(mode=0o700)
    shutil.copyfile(keys.ed25519, kd / "id_ed25519")
    os.chmod(kd / "id_ed25519", 0o600)
    server.write_known_hosts(kd / "known_hosts")
    cfg = folder / "dermedi.toml"
    cfg.write_text(f"""[database]
url = "sqlite:///dermedi.db"

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
schedule = "mon-fri 18:00"
isa_receiver_id = "ACME"
""")
    return cfg


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def make_999(group_control: int, code: str = "A", st_codes: tuple[str, ...] = ("A",)) -> bytes:
    segs = ["ST*999*0001*005010X231A1", f"AK1*HC*{group_control}*005010X222A1"]
    for i, c in enumerate(st_codes, 1):
        segs += [f"AK2*837*{i:04d}*005010X222A1", f"IK5*{c}"]
    n_ok = sum(c in "AE" for c in st_codes)
    segs += [f"AK9*{code}*{len(st_codes)}*{len(st_codes)}*{n_ok}"]
    segs.append(f"SE*{len(segs) + 1}*0001")
    body = "~\n".join(segs)
    return (f"ISA*00*          *00*          *ZZ*ACME           *ZZ*SUBMITTERID    *260302*1015*^*00501*"
            f"{group_control + 500:09d}*0*T*:~\nGS*FA*ACME*SUBMITTERID*20260302*1015*{group_control + 500}*X*"
            f"005010X231A1~\n{body}~\nGE*1*{group_control + 500}~\nIEA*1*{group_control + 500:09d}~\n").encode()


def test_cli_send_exactly_once_then_host_key_change(tmp_path: Path, sshd_server: SSHServer,  # noqa: F811
                                                   client_keys: ClientKeys) -> None:  # noqa: F811
    cfg = write_config(tmp_path, sshd_server, client_keys)
    src = make_837(tmp_path / "batch.837", ["OK1", "OK2", "HELD3"], held=("HELD3",))
    r = run("send", "--config", str(cfg), "--clearinghouse", "acme", str(src))
    assert r.exit_code == 0, r.output
    files = sshd_server.complete_files()
    assert len(files) == 1 and sshd_server.temp_files() == []
    text = (sshd_server.data / "to_payer" / files[0]).read_text()
    assert "CLM*OK1*" in text and "CLM*OK2*" in text and "HELD3" not in text

    r = run("send", "--config", str(cfg), "--clearinghouse", "acme", str(src))
    assert r.exit_code == 0 and "0 file(s) sent" in r.output
    assert sshd_server.complete_files() == files

    sshd_server.change_host_key()
    src2 = make_837(tmp_path / "batch2.837", ["NEW1"])
    r = run("send", "--config", str(cfg), "--clearinghouse", "acme", str(src2))
    assert r.exit_code == 3
    err = [ln for ln in r.output.splitlines() if ln.startswith("dermedi:")]
    assert len(err) == 1 and "HOST KEY MISMATCH" in err[0]
    assert sshd_server.files() == files  # nothing uploaded

    r = run("status", "--config", str(cfg), "--format", "json")
    assert r.exit_code == 0 and '"state": "failed"' in r.output and '"state": "sent"' in r.output


def test_cli_send_unreadable_input_exits_2(tmp_path: Path, sshd_server: SSHServer,  # noqa: F811
                                           client_keys: ClientKeys) -> None:  # noqa: F811
    cfg = write_config(tmp_path, sshd_server, client_keys)
    bad = tmp_path / "bad.837"
    bad.write_text("this is not X12\n")
    good = make_837(tmp_path / "good.837", ["G1"])
    r = run("send", "--config", str(cfg), "--clearinghouse", "acme", str(good), str(bad))
    assert r.exit_code == 2
    assert len([ln for ln in r.output.splitlines() if ln.startswith("dermedi:")]) == 1
    assert sshd_server.files() == []
    r = run("status", "--config", str(cfg), "--format", "json")
    assert '"submissions": []' in r.output  # nothing of the good file was queued either
    r = run("send", "--config", str(cfg), "--clearinghouse", "nope", str(bad))
    assert r.exit_code == 4


def test_cli_receive_999_and_835_once(tmp_path: Path, sshd_server: SSHServer,  # noqa: F811
                                      client_keys: ClientKeys) -> None:  # noqa: F811
    cfg = write_config(tmp_path, sshd_server, client_keys)
    src = make_837(tmp_path / "batch.837", ["R1"])
    assert run("send", "--config", str(cfg), "--clearinghouse", "acme", str(src)).exit_code == 0
    from config.settings import load_settings
    from store import make_engine

    engine = make_engine(load_settings(cfg).database.url)
    with session_scope(engine) as s:
        sub = s.scalars(select(Submission)).one()
        isa13 = sub.isa13
    ack = make_999(isa13)
    sshd_server.put_response("ack_1.x12", ack)
    sshd_server.put_response("remit_1.835", SAMPLE_835.read_bytes())
    r = run("receive", "--config", str(cfg), "--clearinghouse", "acme")
    assert r.exit_code == 0, r.output
    assert "2 new response(s)" in r.output and "999 1" in r.output and "835 1" in r.output
    assert sshd_server.files("from_payer") == []
    with session_scope(engine) as s:
        assert s.get(Submission, sub.id).state == "accepted"  # type: ignore[union-attr]
        rows = s.scalars(select(ResponseFile).order_by(ResponseFile.id)).all()
        assert [(x.kind, x.state) for x in rows] == [("999", "processed"), ("835", "processed")]
        stored = Path(rows[0].local_path)
        assert stored.read_bytes() == ack and (stored.stat().st_mode & 0o777) == 0o600
    # a second receive with nothing new; then the same response delivered again under another name
    r = run("receive", "--config", str(cfg), "--clearinghouse", "acme")
    assert r.exit_code == 0 and "0 new response(s)" in r.output
    sshd_server.put_response("ack_1_again.x12", ack)
    sshd_server.put_response("remit_1_again.835", SAMPLE_835.read_bytes())
    r = run("receive", "--config", str(cfg), "--clearinghouse", "acme")
    assert r.exit_code == 0 and "0 new response(s), 2 already seen" in r.output
    with session_scope(engine) as s:
        assert s.scalar(select(func.count(ResponseFile.id))) == 2
    assert sshd_server.files("from_payer") == []
    from store.remits import RemitFile  # the remits ingest stored the 835 once

    with session_scope(engine) as s:
        assert s.scalar(select(func.count(RemitFile.id)).where(RemitFile.kind == "835")) == 1
    engine.dispose()


@pytest.fixture
def env(tmp_path: Path, sshd_server: SSHServer, client_keys: ClientKeys) -> Any:  # noqa: F811
    e = Env(tmp_path, sshd_server, client_keys, response_archive_dir="archive")
    yield e
    e.close()


class Crash(Exception):
    """Stands for the process dying at that point (not a TransportError: nothing catches it)."""


def test_crash_after_rename_before_ledger_update(env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prepare(env.engine, env.settings, env.profile, make_837(tmp_path / "b.837", ["X1"]))

    def crash(*_a: Any, **_k: Any) -> None:
        raise Crash

    real = ledger.mark_sent
    monkeypatch.setattr(ledger, "mark_sent", crash)
    with pytest.raises(Crash):
        deliver_pending(env.engine, env.profile, sleep=no_sleep)
    files = env.server.complete_files()
    assert len(files) == 1
    sid = ledger.pending_ids(env.engine, env.profile.name)[0]
    assert ledger.get(env.engine, sid).state == "uploading"
    monkeypatch.setattr(ledger, "mark_sent", real)
    before = (env.server.data / "to_payer" / files[0]).stat().st_mtime_ns
    rep = deliver_pending(env.engine, env.profile, sleep=no_sleep)
    assert rep.ok and rep.recovered == [sid] and rep.attempted == 0  # resolved by looking, not re-uploaded
    assert env.server.complete_files() == files and env.server.temp_files() == []
    assert (env.server.data / "to_payer" / files[0]).stat().st_mtime_ns == before
    assert ledger.get(env.engine, sid).state == "sent"


def test_crash_after_rename_and_pickup_is_not_resent(env: Env, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    prepare(env.engine, env.settings, env.profile, make_837(tmp_path / "b.837", ["X2"]))
    real = ledger.mark_sent
    monkeypatch.setattr(ledger, "mark_sent", lambda *a, **k: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):
        deliver_pending(env.engine, env.profile, sleep=no_sleep)
    (picked,) = env.server.complete_files()
    os.unlink(env.server.data / "to_payer" / picked)  # the clearinghouse took it before we restarted
    monkeypatch.setattr(ledger, "mark_sent", real)
    rep = deliver_pending(env.engine, env.profile, sleep=no_sleep)
    assert rep.ok and rep.attempted == 0 and env.server.files() == []


def test_crash_before_rename_finishes_with_the_complete_part(env: Env, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from clearinghouse.sftp import SFTPTransport

    prepare(env.engine, env.settings, env.profile, make_837(tmp_path / "b.837", ["X3"]))
    real = SFTPTransport.rename
    monkeypatch.setattr(SFTPTransport, "rename", lambda *a, **k: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):
        deliver_pending(env.engine, env.profile, sleep=no_sleep)
    assert env.server.complete_files() == [] and len(env.server.temp_files()) == 1
    monkeypatch.setattr(SFTPTransport, "rename", real)
    rep = deliver_pending(env.engine, env.profile, sleep=no_sleep)
    assert rep.ok and rep.attempted == 0 and rep.recovered
    assert len(env.server.complete_files()) == 1 and env.server.temp_files() == []


def test_crash_mid_upload_stray_part_removed_and_uploaded_again(env: Env, tmp_path: Path) -> None:
    prepare(env.engine, env.settings, env.profile, make_837(tmp_path / "b.837", ["X4"]))
    sid = ledger.pending_ids(env.engine, env.profile.name)[0]
    sub = ledger.get(env.engine, sid)
    # the state a killed process leaves: row 'uploading', a truncated .part on the server
    ledger.mark_uploading(env.engine, sid)
    stray = env.server.data / "to_payer" / f".{sub.remote_name}.0123456789abcdef.part"
    stray.write_bytes(Path(sub.local_path).read_bytes()[:100])
    rep = deliver_pending(env.engine, env.profile, sleep=no_sleep)
    assert rep.ok and rep.attempted == 1
    assert env.server.complete_files() == [sub.remote_name] and env.server.temp_files() == []
    assert (env.server.data / "to_payer" / sub.remote_name).read_bytes() == Path(sub.local_path).read_bytes()


def test_receive_archives_and_999_rejection_and_277ca(env: Env, tmp_path: Path) -> None:
    prepare(env.engine, env.settings, env.profile, make_837(tmp_path / "b.837", ["Y1"]))
    rep = deliver_pending(env.engine, env.profile, sleep=no_sleep)
    sub = ledger.get(env.engine, rep.sent[0])
    env.server.put_response("rej.999", make_999(sub.isa13, "R", ("R",)))
    env.server.put_response("mixed.277", (REPO / "tests" / "data" / "277" / "mixed.277").read_bytes())
    env.server.put_response("junk.txt", b"hello\n")
    r = receive(env.engine, env.settings, env.profile, sleep=no_sleep)
    assert r.ok and len(r.downloaded) == 3
    assert sorted(env.server.files("archive")) == ["junk.txt", "mixed.277", "rej.999"]
    assert env.server.files("from_payer") == []
    got = ledger.get(env.engine, sub.id)
    assert got.state == "rejected" and got.ack_code == "R"
    with session_scope(env.engine) as s:
        kinds = {x.kind: x.state for x in s.scalars(select(ResponseFile))}
    assert kinds["999"] == "processed" and kinds["unknown"] == "error"
    assert kinds["277CA"] in ("processed", "pending")
    # a rejected file's claims may be sent again (after correction, or as they are)
    again = prepare(env.engine, env.settings, env.profile, tmp_path / "b.837")
    assert again.already_submitted == 0 and len(again.queued) == 0 and len(again.duplicate_of) == 1
