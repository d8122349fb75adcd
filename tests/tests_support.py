"""Small set-ups shared by the store tests and their helper processes (not a test module)."""

from __future__ import annotations

from pathlib import Path

from config.settings import ClearinghouseProfile, DatabaseSettings, Settings


def directory_setup(url: str, workdir: Path) -> tuple[Settings, ClearinghouseProfile]:
    """Settings and a ``directory`` clearinghouse (folders under ``workdir``) for the database at ``url``."""
    up, resp = workdir / "remote" / "up", workdir / "remote" / "resp"
    up.mkdir(parents=True, exist_ok=True)
    resp.mkdir(parents=True, exist_ok=True)
    profile = ClearinghouseProfile(name="dirch", transport="directory", upload_dir=str(up), response_dir=str(resp),
                                   isa_receiver_id="DIRCH", retries=1, backoff_seconds=0)
    settings = Settings(database=DatabaseSettings(url=url), data_dir=str(workdir / "data"), clearinghouses=[profile])
    return settings, profile
