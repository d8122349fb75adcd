"""Scheduler failover on PostgreSQL with a real sshd: two ``dermedi scheduler run`` processes, the
active one killed with SIGKILL during send cycles (and once cut from the database: its session
terminated on the server); a standby takes over within 60 s and every file reaches the server
exactly once."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from failover import pg_schema, run_failover
from sshd import ClientKeys, SSHServer, client_keys, sshd_server  # noqa: F401
from typer.testing import CliRunner

import dermedi.cli.ch_cmds  # noqa: F401  (registers the commands)
from dermedi.cli.app import app

pytestmark = [pytest.mark.sshd, pytest.mark.postgres,
              pytest.mark.skipif(os.environ.get("DERMEDI_SKIP_POSTGRES") == "1", reason="DERMEDI_SKIP_POSTGRES=1")]


def test_standby_takes_over_after_sigkill_or_lost_connection_and_files_are_sent_exactly_once(
        tmp_path: Path, sshd_server: SSHServer, client_keys: ClientKeys) -> None:  # noqa: F811
    roles: list[list[str]] = []

    def check_status(cfg: Path) -> None:
        r = CliRunner().invoke(app, ["scheduler", "status", "--config", str(cfg), "--format", "json"])
        assert r.exit_code == 0, r.output
        roles.append(sorted(p["role"] for p in json.loads(r.output)["schedulers"]))

    with pg_schema() as url:
        res = run_failover(tmp_path, sshd_server, client_keys, url, kills=3, files_per_cycle=2, padding=200,
                           on_ready=check_status, cut_connection_every=3)
    assert roles == [["active", "standby"]]
    assert res.kills == 3 and len(res.takeovers) == 3 and res.connection_cuts == 1, res.notes
    assert not res.notes, res.notes
    assert max(res.takeovers) < 60, res.takeovers
    assert res.files_dropped == 6
    assert (res.duplicates, res.missing) == (0, 0), res
    assert res.files_on_server == 6
    assert res.leftover_parts == 0
    print(f"failover: {res}")   # the figures (no PHI: synthetic claim ids)

