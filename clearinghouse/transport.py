"""The transport interface (SFTP or a local/mounted folder) and the atomic-upload protocol.

A transport is used as a context manager: ``with open_transport(profile) as t: ...``.  The
connection is always closed on the way out, whatever happened.  Paths given to the methods are
remote folder + file name; the folder comes from the profile (``upload_dir``, ``response_dir``...).

Upload protocol (both transports): the content goes to ``.NAME.<uuid>.part`` in the target folder,
its size is checked on the remote side, then it is renamed (POSIX rename, atomic) to ``NAME``.
Pick-up processes must ignore dot-names.  A failure before the rename removes the temporary file.
"""

from __future__ import annotations

import logging
import posixpath
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from clearinghouse.errors import LocalConfigError, RemoteConflictError, TransportError, classify
from clearinghouse.naming import is_temp_of, temp_name
from config.settings import ClearinghouseProfile

log = logging.getLogger("dermedi.clearinghouse")


@dataclass(frozen=True, slots=True)
class RemoteEntry:
    name: str
    size: int
    is_dir: bool = False


class Transport(ABC):
    """One connection to a clearinghouse drop box."""

    def __init__(self, profile: ClearinghouseProfile) -> None:
        self.profile = profile

    # --- lifecycle ---
    @abstractmethod
    def connect(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Transport:
        self.connect()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return True

    # --- primitives (raise TransportError) ---
    @abstractmethod
    def list_dir(self, directory: str) -> list[RemoteEntry]: ...

    @abstractmethod
    def stat(self, directory: str, name: str) -> RemoteEntry | None: ...

    @abstractmethod
    def put_file(self, local: Path, directory: str, name: str) -> int:
        """Upload ``local`` to ``directory/name`` (confirmed: the remote size is checked); returns the size."""

    @abstractmethod
    def rename(self, directory: str, src: str, dst: str) -> None: ...

    @abstractmethod
    def remove(self, directory: str, name: str) -> None: ...

    @abstractmethod
    def download(self, directory: str, name: str, out: BinaryIO) -> int:
        """Copy ``directory/name`` into ``out`` (no prefetch); returns the bytes copied."""

    @abstractmethod
    def move(self, src_dir: str, name: str, dst_dir: str, dst_name: str) -> None: ...

    def describe(self) -> str:
        return self.profile.name


def join(directory: str, name: str) -> str:
    return posixpath.join(directory, name) if directory else name


def upload_atomic(transport: Transport, local: Path, directory: str, final: str, *,
                  on_part_complete: Callable[[str], None] | None = None,
                  on_part_removed: Callable[[], None] | None = None) -> int:
    """Upload ``local`` as ``directory/final`` via a temporary dot-name and an atomic rename.

    ``on_part_complete(temp)`` is called after the temporary file is complete and verified and
    before the rename (the ledger records it, so that a crash in between can be resolved without
    a second upload).  On failure before the rename the temporary file is removed.  Returns the size.
    """
    size = local.stat().st_size
    if size > transport.profile.max_file_size:
        raise LocalConfigError(f"{local.name}: {size} bytes exceeds max_file_size "
                               f"{transport.profile.max_file_size} of clearinghouse {transport.profile.name}")
    existing = transport.stat(directory, final)
    if existing is not None:
        if existing.size == size:
            return size  # already there (a previous attempt renamed it)
        raise RemoteConflictError(f"{join(directory, final)} already exists on {transport.describe()} "
                                  f"with another size ({existing.size} != {size}); not overwriting")
    temp = temp_name(final)
    try:
        transport.put_file(local, directory, temp)
    except BaseException:
        _remove_quietly(transport, directory, temp)
        raise
    if on_part_complete is not None:
        try:
            on_part_complete(temp)
        except BaseException:
            _remove_quietly(transport, directory, temp)
            raise
    try:
        transport.rename(directory, temp, final)
    except TransportError as exc:
        # Only when the server answered (connection alive) do we know the rename did not happen.
        if transport.alive and not exc.retryable:
            if _remove_quietly(transport, directory, temp) and on_part_removed is not None:
                on_part_removed()
        raise
    log.info("uploaded %s to %s (%d bytes)", final, transport.describe(), size)
    return size


def remove_stray_parts(transport: Transport, directory: str, final: str,
                       entries: list[RemoteEntry] | None = None) -> int:
    """Delete every ``.final.*.part`` left in ``directory`` by an interrupted upload."""
    entries = transport.list_dir(directory) if entries is None else entries
    removed = 0
    for e in entries:
        if is_temp_of(e.name, final):
            transport.remove(directory, e.name)
            removed += 1
    return removed


def _remove_quietly(transport: Transport, directory: str, name: str) -> bool:
    if not transport.alive:
        return False
    try:
        transport.remove(directory, name)
        return True
    except FileNotFoundError:
        return True
    except TransportError as exc:
        if exc.kind == "remote-path" and "no such" in exc.message:
            return True
        log.warning("could not remove temporary file %s on %s: %s", name, transport.describe(), exc.message)
        return False
    except Exception as exc:  # pragma: no cover - best effort cleanup
        log.warning("could not remove temporary file %s on %s: %s", name, transport.describe(),
                    classify(exc, "remove").message)
        return False
