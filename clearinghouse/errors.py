"""Transport errors, classified once: transient ones are retried, permanent ones never.

Every exception that leaves :mod:`clearinghouse` is a :class:`TransportError`; its message is one
line without key material, passwords or PHI (host, port, folder and remote file names only).
"""

from __future__ import annotations

import errno
import socket

import paramiko


class TransportError(Exception):
    """A clearinghouse transport failure.  ``retryable`` says whether backing off may help."""

    retryable = False
    kind = "transport"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TransientError(TransportError):
    """Connection refused/reset/closed, timeouts, a silent server, a short write: retried."""

    retryable = True
    kind = "transient"


class HostKeyError(TransportError):
    """The server's host key does not match the pinned one, or the host is not pinned at all."""

    kind = "host-key"


class AuthError(TransportError):
    """The server refused our key (or password)."""

    kind = "auth"


class RemotePathError(TransportError):
    """Permission denied or a missing remote folder: needs a person, not a retry."""

    kind = "remote-path"


class LocalConfigError(TransportError):
    """Bad local set-up: key file missing/unsafe, known_hosts missing, file too large."""

    kind = "config"


class RemoteConflictError(TransportError):
    """The final remote name exists with other content: refuse to overwrite."""

    kind = "conflict"


_TRANSIENT_ERRNOS = {errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE, errno.ETIMEDOUT,
                     errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ENETDOWN, errno.ENOSPC, errno.EDQUOT, errno.EIO}


def where(host: str, port: int) -> str:
    return f"{host}:{port}"


def classify(exc: BaseException, context: str) -> TransportError:
    """Map a paramiko/socket/OS exception to a :class:`TransportError` (``context`` says what we did)."""
    if isinstance(exc, TransportError):
        return exc
    name = type(exc).__name__
    if isinstance(exc, paramiko.BadHostKeyException):
        return HostKeyError(f"{context}: HOST KEY MISMATCH - the server presented a {exc.key.get_name()} key "
                            f"with fingerprint SHA256:{exc.key.fingerprint.split(':', 1)[-1]} that is not the "
                            f"pinned one; possible man-in-the-middle, nothing was sent")
    if isinstance(exc, paramiko.AuthenticationException):
        return AuthError(f"{context}: authentication refused ({name})")
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        return TransientError(f"{context}: cannot connect ({exc.strerror or 'no valid connections'})")
    if isinstance(exc, paramiko.SSHException):
        text = str(exc)
        if "not found in known_hosts" in text:
            return HostKeyError(f"{context}: UNKNOWN HOST - the server's host key is not in known_hosts; "
                                f"pin it first, nothing was sent")
        if "encrypted" in text.lower() or isinstance(exc, paramiko.PasswordRequiredException):
            return LocalConfigError(f"{context}: the private key is encrypted and no passphrase was given")
        return TransientError(f"{context}: SSH failure ({name}: {text[:120]})")
    if isinstance(exc, EOFError):
        return TransientError(f"{context}: connection closed by the server (EOF)")
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return TransientError(f"{context}: timed out")
    if isinstance(exc, PermissionError):
        return RemotePathError(f"{context}: permission denied")
    if isinstance(exc, FileNotFoundError):
        return RemotePathError(f"{context}: no such file or folder")
    if isinstance(exc, (ConnectionError, socket.gaierror)):
        return TransientError(f"{context}: {name}")
    if isinstance(exc, OSError):
        if exc.errno in _TRANSIENT_ERRNOS:
            return TransientError(f"{context}: {exc.strerror or name}")
        # paramiko's SFTP status errors: 'Failure' (often a full disk), 'size mismatch in put!',
        # 'Socket is closed', 'Server connection dropped'.
        text = str(exc.args[0]) if exc.args else name
        return TransientError(f"{context}: {text[:120]}")
    return TransientError(f"{context}: {name}")
