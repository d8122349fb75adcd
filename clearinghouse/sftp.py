"""SFTP transport (paramiko), pinned host key, key authentication, every timeout set.

* known_hosts is loaded and :class:`paramiko.RejectPolicy` refuses anything else: an unknown host
  or a changed host key is a permanent :class:`~clearinghouse.errors.HostKeyError` (never retried,
  never auto-added).  Ports other than 22 are looked up as ``[host]:port``.
* Ed25519 or RSA (or ECDSA) keys; ``look_for_keys`` and ``allow_agent`` are off; a password is
  used only when the profile says ``allow_password`` (read from ``password_file`` /
  ``password_env``).  A private key readable by group or others is refused before connecting.
* connect/banner/auth/channel timeouts (connect > banner, else a silent server gives a misleading
  error), keepalive, and a timeout on the SFTP channel itself (keepalive does not detect stalls).
* Uploads are confirmed (``put(confirm=True)`` + stat), because paramiko drops write errors.
* The SSHClient is closed on every path, including a failed ``connect`` (which leaks otherwise).
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import BinaryIO

import paramiko

from clearinghouse.errors import AuthError, LocalConfigError, TransientError, TransportError, classify, where
from clearinghouse.transport import RemoteEntry, Transport, join
from config.settings import ClearinghouseProfile

log = logging.getLogger("dermedi.clearinghouse.sftp")


def check_key_file(path: str) -> None:
    """Refuse a missing private key or one that group or others may read or write."""
    try:
        st = os.stat(path)
    except OSError:
        raise LocalConfigError(f"private key file not found: {path}") from None
    if not stat.S_ISREG(st.st_mode):
        raise LocalConfigError(f"private key is not a regular file: {path}")
    if st.st_mode & 0o077:
        raise LocalConfigError(f"private key {path} is accessible by group/others "
                               f"(mode {stat.S_IMODE(st.st_mode):04o}); run: chmod 600 {path}")


def load_private_key(path: str, passphrase: str | None) -> paramiko.PKey:
    check_key_file(path)
    try:
        return paramiko.PKey.from_path(path, password=passphrase or None)
    except paramiko.PasswordRequiredException:
        raise LocalConfigError(f"private key {path} is encrypted; set the passphrase variable") from None
    except (paramiko.SSHException, ValueError, OSError) as exc:
        raise LocalConfigError(f"cannot load private key {path} ({type(exc).__name__})") from None


class SFTPTransport(Transport):
    def __init__(self, profile: ClearinghouseProfile) -> None:
        super().__init__(profile)
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._posix_rename = profile.posix_rename

    def describe(self) -> str:
        return f"{self.profile.name} ({where(self.profile.host, self.profile.port)})"

    # --- lifecycle ---
    def connect(self) -> None:
        p = self.profile
        ctx = f"connect to {self.describe()}"
        if not p.known_hosts or not Path(p.known_hosts).is_file():
            raise LocalConfigError(f"{ctx}: known_hosts file not found: {p.known_hosts}")
        pkey = load_private_key(p.key_file, p.passphrase()) if p.key_file else None
        password = p.password() if p.allow_password else None
        if pkey is None and password is None:
            raise LocalConfigError(f"{ctx}: no key_file and no password configured")
        timeout = p.connect_timeout
        banner = p.banner_timeout if p.banner_timeout < timeout else max(timeout * 0.75, 0.1)
        client = paramiko.SSHClient()
        try:
            client.load_host_keys(p.known_hosts)
            client.set_missing_host_key_policy(paramiko.RejectPolicy())
            client.connect(p.host, port=p.port, username=p.username, pkey=pkey, password=password,
                           look_for_keys=False, allow_agent=False, timeout=timeout, banner_timeout=banner,
                           auth_timeout=p.auth_timeout, channel_timeout=p.channel_timeout,
                           compress=False)
            transport = client.get_transport()
            if transport is None:  # pragma: no cover - connect() succeeded
                raise TransientError(f"{ctx}: no transport")
            if p.keepalive:
                transport.set_keepalive(p.keepalive)
            sftp = client.open_sftp()
            sftp.get_channel().settimeout(p.channel_timeout)  # type: ignore[union-attr]
        except Exception as exc:
            client.close()  # a failed connect leaks the Transport (and a server process) otherwise
            err = classify(exc, ctx)
            if isinstance(err, AuthError) and password is None:
                err = AuthError(f"{err.message}; is the public key in the server's authorized_keys?")
            log.error("%s", err.message) if not err.retryable else log.warning("%s", err.message)
            raise err from None
        self._client = client
        self._sftp = sftp
        log.debug("connected to %s", self.describe())

    def close(self) -> None:
        sftp, client = self._sftp, self._client
        self._sftp = self._client = None
        try:
            if sftp is not None:
                sftp.close()
        except Exception:  # noqa: S110 - closing a dead connection
            pass
        finally:
            if client is not None:
                client.close()

    @property
    def alive(self) -> bool:
        client = self._client
        if client is None or self._sftp is None:
            return False
        t = client.get_transport()
        return t is not None and t.is_active()

    @property
    def sftp(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            raise TransientError(f"{self.describe()}: not connected")
        return self._sftp

    def _fail(self, exc: Exception, what: str) -> TransportError:
        return classify(exc, f"{what} on {self.describe()}")

    # --- primitives ---
    def list_dir(self, directory: str) -> list[RemoteEntry]:
        try:
            attrs = self.sftp.listdir_attr(directory or ".")
        except Exception as exc:
            raise self._fail(exc, f"list {directory or '.'}") from None
        return [RemoteEntry(a.filename, a.st_size or 0, stat.S_ISDIR(a.st_mode or 0)) for a in attrs]

    def stat(self, directory: str, name: str) -> RemoteEntry | None:
        path = join(directory, name)
        try:
            a = self.sftp.stat(path)
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise self._fail(exc, f"stat {path}") from None
        return RemoteEntry(name, a.st_size or 0, stat.S_ISDIR(a.st_mode or 0))

    def put_file(self, local: Path, directory: str, name: str) -> int:
        path = join(directory, name)
        size = local.stat().st_size
        try:
            self.sftp.put(str(local), path, confirm=True)  # confirm: paramiko drops write errors otherwise
            remote = self.sftp.stat(path).st_size
        except Exception as exc:
            raise self._fail(exc, f"upload {path}") from None
        if remote != size:
            raise TransientError(f"upload {path} on {self.describe()}: short write ({remote} of {size} bytes)")
        return size

    def rename(self, directory: str, src: str, dst: str) -> None:
        a, b = join(directory, src), join(directory, dst)
        try:
            if self._posix_rename:
                try:
                    self.sftp.posix_rename(a, b)
                    return
                except OSError as exc:
                    if "unsupported" not in str(exc).lower():
                        raise
                    log.info("%s has no posix-rename; using plain rename", self.describe())
                    self._posix_rename = False
            self.sftp.rename(a, b)
        except Exception as exc:
            raise self._fail(exc, f"rename {a} -> {dst}") from None

    def remove(self, directory: str, name: str) -> None:
        path = join(directory, name)
        try:
            self.sftp.remove(path)
        except Exception as exc:
            raise self._fail(exc, f"remove {path}") from None

    def download(self, directory: str, name: str, out: BinaryIO) -> int:
        path = join(directory, name)
        try:
            return self.sftp.getfo(path, out, prefetch=False)
        except Exception as exc:
            raise self._fail(exc, f"download {path}") from None

    def move(self, src_dir: str, name: str, dst_dir: str, dst_name: str) -> None:
        a, b = join(src_dir, name), join(dst_dir, dst_name)
        try:
            if self._posix_rename:
                try:
                    self.sftp.posix_rename(a, b)
                    return
                except OSError as exc:
                    if "unsupported" not in str(exc).lower():
                        raise
                    self._posix_rename = False
            self.sftp.rename(a, b)
        except Exception as exc:
            raise self._fail(exc, f"move {a} -> {b}") from None
