#!/usr/bin/env python3
"""Failover benchmark: kill the active ``dermedi scheduler run`` (SIGKILL; every ``--cut-every``-th
time its database session is terminated instead) during send cycles against a real OpenSSH sshd
and PostgreSQL, ``--kills`` times; report takeover times and the server's files (exactly once).

    .venv/bin/python bench/failover.py --kills 24 --out bench/data/failover.json

Needs root (the private sshd logs in a separate user, as in the transport tests) and the
PostgreSQL at 127.0.0.1:5432 (``DERMEDI_TEST_PG``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from failover import pg_schema, run_failover  # noqa: E402
from sshd import ClientKeys, SSHServer  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=24)
    ap.add_argument("--cut-every", type=int, default=4, help="every k-th failure is a lost connection (0: never)")
    ap.add_argument("--files-per-cycle", type=int, default=2)
    ap.add_argument("--padding", type=int, default=300, help="extra claims per file (longer uploads)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "data" / "failover.json"))
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="dermedi-failover-"))
    keys_dir = tmp / "keys"
    keys_dir.mkdir(mode=0o700)
    keys = ClientKeys(keys_dir)
    server = SSHServer()
    server.authorize(Path(f"{keys.ed25519}.pub"))
    server.start()
    t0 = time.time()
    try:
        with pg_schema() as url:
            work = tmp / "work"
            work.mkdir()
            res = run_failover(work, server, keys, url, kills=args.kills, files_per_cycle=args.files_per_cycle,
                               padding=args.padding, cut_connection_every=args.cut_every)
    finally:
        server.cleanup()
    out = dataclasses.asdict(res)
    out.update({"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "seconds": round(time.time() - t0, 1),
                "takeover_max_s": round(max(res.takeovers), 2) if res.takeovers else None,
                "takeover_mean_s": round(sum(res.takeovers) / len(res.takeovers), 2) if res.takeovers else None})
    out["takeovers"] = [round(t, 2) for t in res.takeovers]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))
    ok = (res.duplicates, res.missing, res.leftover_parts) == (0, 0, 0) and len(res.takeovers) == res.kills
    return 0 if ok and all(t < 60 for t in res.takeovers) else 1


if __name__ == "__main__":
    sys.exit(main())
