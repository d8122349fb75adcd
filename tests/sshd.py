"""A real OpenSSH sshd on 127.0.0.1 for the transport tests, plus a fault-injecting TCP proxy.

* :class:`SSHServer` runs ``/usr/sbin/sshd -D -f <own config>`` (its own Ed25519 host key,
  AuthorizedKeysFile, ``UsePAM no``, PidFile and log in a temp folder, a free non-22 port) and logs
  the sftp user in as the NON-ROOT user ``dermedi-sftp`` (created when missing, password field
  ``*``), so that permission tests mean something.  ``ForceCommand internal-sftp -d <data>`` starts
  every session in the data folder (``to_payer``, ``from_payer``, ``archive``).
* :class:`FaultProxy` forwards 127.0.0.1 connections to the server; each new connection takes the
  next planned fault (``("cut", n)`` closes both sides after n bytes, ``("stall", n)`` stops
  forwarding after n bytes and swallows whatever comes) or passes through.
* :func:`install_sshd` runs ``.ci/install-debian.sh`` when /usr/sbin/sshd is missing.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

SSHD = "/usr/sbin/sshd"
SFTP_USER = "dermedi-sftp"
REPO = Path(__file__).resolve().parent.parent


def install_sshd() -> None:
    if not os.path.exists(SSHD):
        subprocess.run(["bash", str(REPO / ".ci" / "install-debian.sh")], check=True)


def ensure_user(name: str = SFTP_USER) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                    "--shell", "/usr/sbin/nologin", name], check=True)
    # With UsePAM no, a '!' (locked) password field refuses even key logins: make it '*'.
    subprocess.run(["usermod", "-p", "*", name], check=True)
    return pwd.getpwnam(name)


def keygen(path: Path, kind: str = "ed25519") -> Path:
    args = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "dermedi-test", "-f", str(path)]
    if kind == "rsa":
        args[4:4] = ["-b", "2048"]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    os.chmod(path, 0o600)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(entry))
    return out


def descendants(pid: int) -> list[int]:
    result, todo = [], [pid]
    while todo:
        for c in _children(todo.pop()):
            result.append(c)
            todo.append(c)
    return result


class SSHServer:
    def __init__(self) -> None:
        install_sshd()
        self.user = ensure_user()
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation dir (as root)
        self.root = Path(tempfile.mkdtemp(prefix="dermedi-sshd-"))
        os.chmod(self.root, 0o711)  # the sftp user must traverse to its data folder
        self.data = self.root / "data"
        self.data.mkdir(mode=0o755)
        for d in ("to_payer", "from_payer", "archive"):
            (self.data / d).mkdir(mode=0o755)
        self.chown_data()
        self.host_key = keygen(self.root / "ssh_host_ed25519_key")
        self.authorized_keys = self.root / "authorized_keys"
        self.authorized_keys.write_text("")
        os.chmod(self.authorized_keys, 0o644)
        self.port = free_port()
        self.log = self.root / "sshd.log"
        self.proc: subprocess.Popen[bytes] | None = None

    # --- set-up ---
    def chown_data(self) -> None:
        for p in [self.data, *self.data.rglob("*")]:
            os.chown(p, self.user.pw_uid, self.user.pw_gid)

    def authorize(self, public_key_file: Path) -> None:
        with self.authorized_keys.open("a") as f:
            f.write(public_key_file.read_text().strip() + "\n")

    def known_hosts_line(self) -> str:
        kind, key = Path(f"{self.host_key}.pub").read_text().split()[:2]
        return f"[127.0.0.1]:{self.port} {kind} {key}\n"

    def write_known_hosts(self, path: Path) -> Path:
        path.write_text(self.known_hosts_line())
        os.chmod(path, 0o600)
        return path

    def config_text(self) -> str:
        return "\n".join([
            f"Port {self.port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {self.host_key}",
            f"PidFile {self.root / 'sshd.pid'}",
            f"AuthorizedKeysFile {self.authorized_keys}",
            "UsePAM no",
            "StrictModes no",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "PermitRootLogin no",
            f"AllowUsers {SFTP_USER}",
            "Subsystem sftp internal-sftp",
            f"ForceCommand internal-sftp -d {self.data}",
            "LogLevel VERBOSE",
            "MaxStartups 200:30:400",
            "LoginGraceTime 20",
            "",
        ])

    # --- lifecycle ---
    def start(self) -> SSHServer:
        conf = self.root / "sshd_config"
        conf.write_text(self.config_text())
        subprocess.run([SSHD, "-t", "-f", str(conf)], check=True)
        logf = self.log.open("ab")
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(conf)], stdout=logf, stderr=logf)
        logf.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.settimeout(2)
                    if s.recv(64).startswith(b"SSH-"):
                        return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"sshd exited: {self.log.read_text()[-2000:]}") from None
                time.sleep(0.02)
        raise RuntimeError("sshd did not start")

    def stop(self) -> None:
        if self.proc is None:
            return
        kids = descendants(self.proc.pid)
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        for pid in kids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def change_host_key(self) -> None:
        self.host_key.unlink()
        Path(f"{self.host_key}.pub").unlink()
        keygen(self.host_key)
        self.restart()

    def kill_sessions(self) -> int:
        """SIGKILL every per-connection sshd process (the listener stays up)."""
        assert self.proc is not None
        killed = 0
        for pid in descendants(self.proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        return killed

    def session_count(self) -> int:
        return len(descendants(self.proc.pid)) if self.proc is not None else 0

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # --- the server's view ---
    def files(self, folder: str = "to_payer") -> list[str]:
        return sorted(os.listdir(self.data / folder))

    def complete_files(self, folder: str = "to_payer") -> list[str]:
        return [n for n in self.files(folder) if not n.startswith(".")]

    def temp_files(self, folder: str = "to_payer") -> list[str]:
        return [n for n in self.files(folder) if n.startswith(".")]

    def put_response(self, name: str, content: bytes, folder: str = "from_payer") -> Path:
        p = self.data / folder / name
        p.write_bytes(content)
        os.chown(p, self.user.pw_uid, self.user.pw_gid)
        return p


class FaultProxy:
    """A TCP proxy on 127.0.0.1 that can cut or stall chosen connections after N bytes."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.plan: deque[tuple[str, int]] = deque()
        self.faults_fired: list[tuple[str, int]] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(50)
        self.port = int(self._sock.getsockname()[1])
        self._closing = False
        self._open: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                fault = self.plan.popleft() if self.plan else ("pass", 0)
            threading.Thread(target=self._serve, args=(client, fault), daemon=True).start()

    def _serve(self, client: socket.socket, fault: tuple[str, int]) -> None:
        import selectors

        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
        except OSError:
            client.close()
            return
        with self._lock:
            self._open += [client, upstream]
        mode, limit = fault
        passed = 0
        stalled = False
        sel = selectors.DefaultSelector()
        sel.register(client, selectors.EVENT_READ, upstream)
        sel.register(upstream, selectors.EVENT_READ, client)
        try:
            while not self._closing:
                for key, _ in sel.select(timeout=0.2):
                    src = key.fileobj
                    assert isinstance(src, socket.socket)
                    data = src.recv(65536)
                    if not data:
                        return
                    if stalled:
                        continue  # a black hole: swallow, never answer
                    if mode != "pass" and passed + len(data) >= limit:
                        self.faults_fired.append(fault)
                        if mode == "cut":
                            return
                        stalled = True
                        continue
                    passed += len(data)
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            sel.close()
            for s in (client, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def close(self) -> None:
        self._closing = True
        self._sock.close()
        with self._lock:
            for s in self._open:
                try:
                    s.close()
                except OSError:
                    pass


def profile_kwargs(server: SSHServer, key_file: Path, known_hosts: Path, **over: Any) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "name": "testch", "transport": "sftp", "host": "127.0.0.1", "port": server.port,
        "username": SFTP_USER, "key_file": str(key_file), "known_hosts": str(known_hosts),
        "upload_dir": "to_payer", "response_dir": "from_payer", "isa_receiver_id": "TESTCH",
        "connect_timeout": 3.0, "banner_timeout": 2.0, "auth_timeout": 3.0, "channel_timeout": 2.0,
        "keepalive": 5, "retries": 3, "backoff_seconds": 0.01,
    }
    kw.update(over)
    return kw


# --- pytest fixtures (import them into a test module: ``from sshd import sshd_server, client_keys``) ---

import pytest  # noqa: E402


class ClientKeys:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ed25519 = keygen(folder / "id_ed25519")
        self.rsa = keygen(folder / "id_rsa", "rsa")
        self.stranger = keygen(folder / "stranger_ed25519")


@pytest.fixture(scope="session")
def client_keys(tmp_path_factory: pytest.TempPathFactory) -> ClientKeys:
    folder = tmp_path_factory.mktemp("client-keys")
    os.chmod(folder, 0o700)
    return ClientKeys(folder)


@pytest.fixture
def sshd_server(client_keys: ClientKeys) -> Any:
    if os.geteuid() != 0:
        pytest.skip("the private sshd logs in a separate non-root user: run the transport tests as root")
    server = SSHServer()
    server.authorize(Path(f"{client_keys.ed25519}.pub"))
    server.authorize(Path(f"{client_keys.rsa}.pub"))
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


_TEMPLATE: list[Path] = []


def migrated_sqlite_template() -> Path:
    """An SQLite database migrated once per test session (copied per test: migrations take seconds)."""
    if not _TEMPLATE:
        from sqlalchemy import text

        from store import make_engine, migrate

        folder = Path(tempfile.mkdtemp(prefix="dermedi-dbtemplate-"))
        path = folder / "template.db"
        migrate(f"sqlite:///{path}")
        engine = make_engine(f"sqlite:///{path}")
        with engine.connect() as conn:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            conn.execute(text("PRAGMA journal_mode=DELETE"))
        engine.dispose()
        _TEMPLATE.append(path)
    return _TEMPLATE[0]


class Env:
    """Settings + migrated SQLite (or given) database + a profile pointing at the test sshd."""

    def __init__(self, tmp: Path, server: SSHServer, keys: ClientKeys, db_url: str | None = None,
                 **over: Any) -> None:
        from config.settings import ClearinghouseProfile, DatabaseSettings, Settings
        from store import make_engine, open_database

        self.tmp = tmp
        self.server = server
        self.keys = keys
        self.known_hosts = server.write_known_hosts(tmp / "known_hosts")
        key = Path(over.pop("key_file", keys.ed25519))
        self.profile = ClearinghouseProfile(**profile_kwargs(server, key, self.known_hosts, **over))
        if db_url is None:
            db = tmp / "dermedi.db"
            shutil.copyfile(migrated_sqlite_template(), db)
            os.chmod(db, 0o600)
            url = f"sqlite:///{db}"
        else:
            url = db_url
        self.settings = Settings(database=DatabaseSettings(url=url), data_dir=str(tmp / "data"),
                                 clearinghouses=[self.profile])
        self.engine = make_engine(url) if db_url is None else open_database(url)

    def close(self) -> None:
        self.engine.dispose()


def no_sleep(_seconds: float) -> None:
    pass


@pytest.fixture
def parser_only_scrubber(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the transport tests independent of the scrubber's rules: only parser problems hold a claim."""
    import clearinghouse.scrub

    monkeypatch.setattr(clearinghouse.scrub, "make_scrubber", lambda _settings: None)


# --- synthetic 837P input (SYNTHETIC data) ---

_HEAD = """ISA*00*          *00*          *ZZ*SUBMITTERID    *ZZ*RECEIVERID     *230101*1200*^*00501*000000001*0*T*:~
GS*HC*SUBMITTERID*RECEIVERID*20230101*1200*1*X*005010X222A1~
ST*837*0001*005010X222A1~
BHT*0019*00*BATCH1*20230101*1200*CH~
NM1*41*2*DERM BILLING CO*****46*SUB123~
PER*IC*JANE BILLER*TE*5555551234~
NM1*40*2*ACME CLEARINGHOUSE*****46*RECV01~
HL*1**20*1~
PRV*BI*PXC*207N00000X~
NM1*85*2*SKIN CLINIC PA*****XX*1234567893~
N3*100 MAIN ST~
N4*SPRINGFIELD*IL*627011234~
REF*EI*123456789~
"""

_CLAIM = """HL*{hl}*1*22*0~
SBR*P*18*******MB~
NM1*IL*1*DOE*JOHN****MI*1EG4TE5MK73~
N3*1 ELM ST~
N4*SPRINGFIELD*IL*62701~
DMG*D8*19500101*M~
NM1*PR*2*MEDICARE*****PI*12345~
CLM*{cid}*150.00***11:B:1*Y*A*Y*Y~
HI*ABK:L570~
NM1*82*1*SMITH*ANNA****XX*1245319599~
PRV*PE*PXC*207N00000X~
LX*1~
SV1*HC:17000*{charge}*UN*1***1~
DTP*472*D8*20221215~
LX*2~
SV1*HC:17003*50.00*UN*2***1~
DTP*472*D8*20221215~
"""


def make_837(path: Path, claim_ids: list[str], held: tuple[str, ...] = (), padding: int = 0) -> Path:
    """An 837P with one claim per id (17000 + 17003 x2 for L57.0, seen a week ago); ids in ``held``
    get a broken SV102 (a parser problem: held).  ``padding`` adds that many more claims."""
    import datetime as dt

    seen = (dt.date.today() - dt.timedelta(days=7)).strftime("%Y%m%d")
    body = [_HEAD]
    hl = 2
    ids = list(claim_ids) + [f"PAD{i:06d}" for i in range(padding)]
    for cid in ids:
        body.append(_CLAIM.format(hl=hl, cid=cid, charge="X" if cid in held else "100.00").replace("20221215", seen))
        hl += 1
    text = "".join(body)
    st_segments = text.count("~") - 2 + 1  # minus ISA and GS, plus SE itself
    text += f"SE*{st_segments}*0001~\nGE*1*1~\nIEA*1*000000001~\n"
    path.write_text(text)
    return path


