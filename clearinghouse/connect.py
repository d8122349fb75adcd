"""The transport a clearinghouse profile asks for: ``with open_transport(profile) as t: ...``.

Kept apart from :mod:`clearinghouse.transport` (the interface both transports implement), so
that module never imports its own implementations.
"""

from __future__ import annotations

from clearinghouse.directory import DirectoryTransport
from clearinghouse.sftp import SFTPTransport
from clearinghouse.transport import Transport
from config.settings import ClearinghouseProfile


def open_transport(profile: ClearinghouseProfile) -> Transport:
    """The transport the profile asks for (not yet connected)."""
    if profile.transport == "directory":
        return DirectoryTransport(profile)
    return SFTPTransport(profile)


__all__ = ["open_transport"]
