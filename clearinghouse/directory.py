"""A "directory" transport: a local or mounted folder with the same semantics as SFTP.

Uploads are written to ``.NAME.<uuid>.part`` (mode 0600), fsync'ed, size-checked and renamed
atomically (``os.replace`` on the same file system), then the folder is fsync'ed.  Used for
trials, tests and clearinghouses reached through a mounted share.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import BinaryIO

from clearinghouse.errors import TransientError, classify
from clearinghouse.store import fsync_dir
from clearinghouse.transport import RemoteEntry, Transport


class DirectoryTransport(Transport):
    def _path(self, directory: str, name: str | None = None) -> Path:
        base = Path(directory)
        return base / name if name else base

    def describe(self) -> str:
        return f"{self.profile.name} (directory)"

    def connect(self) -> None:
        pass

    def close(self) -> None:
        pass

    def list_dir(self, directory: str) -> list[RemoteEntry]:
        try:
            out = []
            with os.scandir(self._path(directory)) as it:
                for e in it:
                    st = e.stat(follow_symlinks=False)
                    out.append(RemoteEntry(e.name, st.st_size, e.is_dir(follow_symlinks=False)))
            return out
        except Exception as exc:
            raise classify(exc, f"list {directory} on {self.describe()}") from None

    def stat(self, directory: str, name: str) -> RemoteEntry | None:
        p = self._path(directory, name)
        try:
            st = p.stat()
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise classify(exc, f"stat {name} on {self.describe()}") from None
        return RemoteEntry(name, st.st_size, p.is_dir())

    def put_file(self, local: Path, directory: str, name: str) -> int:
        target = self._path(directory, name)
        size = local.stat().st_size
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out, local.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
                out.flush()
                os.fsync(out.fileno())
            written = target.stat().st_size
        except Exception as exc:
            raise classify(exc, f"upload {name} on {self.describe()}") from None
        if written != size:
            raise TransientError(f"upload {name} on {self.describe()}: short write ({written} of {size} bytes)")
        return size

    def rename(self, directory: str, src: str, dst: str) -> None:
        try:
            os.replace(self._path(directory, src), self._path(directory, dst))
            fsync_dir(self._path(directory))
        except Exception as exc:
            raise classify(exc, f"rename {src} -> {dst} on {self.describe()}") from None

    def remove(self, directory: str, name: str) -> None:
        try:
            os.unlink(self._path(directory, name))
        except Exception as exc:
            raise classify(exc, f"remove {name} on {self.describe()}") from None

    def download(self, directory: str, name: str, out: BinaryIO) -> int:
        try:
            with self._path(directory, name).open("rb") as src:
                n = 0
                while chunk := src.read(1 << 20):
                    out.write(chunk)
                    n += len(chunk)
                return n
        except Exception as exc:
            raise classify(exc, f"download {name} on {self.describe()}") from None

    def move(self, src_dir: str, name: str, dst_dir: str, dst_name: str) -> None:
        try:
            os.replace(self._path(src_dir, name), self._path(dst_dir, dst_name))
            fsync_dir(self._path(dst_dir))
        except Exception as exc:
            raise classify(exc, f"move {name} on {self.describe()}") from None
