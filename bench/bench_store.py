"""Bench of the store layer (issue 10), on SQLite and on the PostgreSQL at 127.0.0.1:5432, in one run.

    .venv/bin/python bench/bench_store.py [--ingest-claims 50000] [--send-claims 100000]
        [--items 1000000] [--remit-lines 10000000] [--pg URL | --no-pg] [--json OUT]

Rows (each database):
* 835 ingest of an N-claim file (a third of the claims with a CO-97 denial), in a process of its
  own: claims/s of wall time, CPU seconds, peak RSS (and those of the record writer process a big send
  starts, store/writer.py); again at N/5 claims, to show RSS is flat;
* ``send`` of an N-claim 837P (bench/gen_claims.py) to a ``directory`` clearinghouse (validate,
  scrub, ledger, submitted claims, upload), in a process of its own, likewise at N/5;
* with N items in the worklist (bench/fill_store.py) and M remit lines: ``worklist next`` (30
  hand-outs), the first ``worklist list`` page and filtered first pages (category, status,
  owner, payer), the next page by keyset, and ``remits summary``: median, p95, max in ms.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO / "tests"))
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


# --- one measured operation, in a process of its own (peak RSS is the process's) ----------------

def _one(op: str, url: str, path: str, workdir: str) -> None:
    from clearinghouse.submit import send_files  # imported before the collector is set, as the CLI does
    from dermedi.cli.app import batch_gc
    from remits.ingest import ingest_835_file
    from store import make_engine, migrate

    batch_gc()      # the garbage collector as `dermedi` runs it (one CLI run is one batch)
    writer_peak = _watch_children()
    migrate(url)
    engine = make_engine(url)
    t0, c0 = time.perf_counter(), time.process_time()
    if op == "ingest":
        r = ingest_835_file(engine, path)
        claims, extra = r.claims, {"items": r.items_created, "status": r.status}
    else:
        from config.settings import ClearinghouseProfile, DatabaseSettings, Settings

        w = Path(workdir)
        (w / "up").mkdir(parents=True, exist_ok=True)
        (w / "resp").mkdir(parents=True, exist_ok=True)
        profile = ClearinghouseProfile(name="bench", transport="directory", upload_dir=str(w / "up"),
                                       response_dir=str(w / "resp"), isa_receiver_id="BENCH", retries=1,
                                       backoff_seconds=0)
        settings = Settings(database=DatabaseSettings(url=url), data_dir=str(w / "data"), clearinghouses=[profile])
        res = send_files(engine, settings, profile, [Path(path)], sleep=lambda _s: None)
        p = res.prepared[0]
        claims, extra = p.claims_read, {"clean": p.clean, "held": p.held, "files": len(res.delivery.sent)}
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    import threading

    for t in threading.enumerate():        # the record writer process is reaped by its sender thread
        if t.name == "dermedi-records-sender":
            t.join(60)
    child = resource.getrusage(resource.RUSAGE_CHILDREN)   # the record writer process of a big send, if any
    print(json.dumps({"claims": claims, "seconds": wall, "cpu": cpu,
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "writer_cpu": child.ru_utime + child.ru_stime,
                      "writer_rss_mb": max(writer_peak, default=0) / 1024, **extra}))


def _watch_children() -> list[int]:
    """Peak RSS (VmHWM, kB) of this process's children (the record writer of a big send), sampled
    every 50 ms: their rusage would count the parent's pages at fork, before the exec."""
    import threading

    peaks: list[int] = []
    me = str(os.getpid())

    def sample() -> None:
        while True:
            kids: set[str] = set()
            for task in Path(f"/proc/{me}/task").iterdir():
                try:
                    kids.update((task / "children").read_text().split())
                except OSError:
                    pass
            for kid in kids:
                try:
                    status = Path(f"/proc/{kid}/status").read_text()
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        peaks.append(int(line.split()[1]))
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()
    return peaks


def run_one(op: str, url: str, path: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as w:
        out = subprocess.run([sys.executable, __file__, "--one", op, url, str(path), w], capture_output=True,
                             text=True, check=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- databases -------------------------------------------------------------------------------------

@contextmanager
def database(kind: str, pg: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / f'bench-{uuid.uuid4().hex[:6]}.db'}"
        return
    from dbfixtures import pg_schema

    with pg_schema(pg, prefix="bench_") as url:
        yield url


def timed(fn: Callable[[], Any], n: int) -> dict[str, float]:
    ms = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1000)
    ms.sort()
    return {"median_ms": statistics.median(ms), "p95_ms": ms[max(0, round(0.95 * len(ms)) - 1)],
            "max_ms": ms[-1], "n": n}


def reads(url: str, items: int, remit_lines: int) -> dict[str, Any]:
    from fill_store import fill_items, fill_remit_lines

    from remits.summary import denial_summary
    from remits.worklist import items_as_dicts, list_items, next_item
    from store import make_engine, migrate, session_scope

    migrate(url)
    engine = make_engine(url)
    out: dict[str, Any] = {"fill_items_s": fill_items(engine, items)}
    if remit_lines:
        out["fill_remit_lines_s"] = fill_remit_lines(engine, remit_lines)

    def page(**filters: Any) -> Callable[[], Any]:
        def go() -> Any:
            with session_scope(engine) as s:
                got = items_as_dicts(s, list_items(s, limit=100, open_only="status" not in filters, **filters))
                assert got, filters
                return got
        return go

    first = page()()
    out["list_first_page"] = timed(page(), 20)
    out["list_next_page"] = timed(page(after=first[-1]["id"]), 20)
    out["list_category"] = timed(page(category="medical_necessity"), 20)
    out["list_status"] = timed(page(status="in_progress"), 20)
    out["list_owner"] = timed(page(owner="biller7"), 20)
    users = iter(f"bench{i}" for i in range(1000))
    out["worklist_next"] = timed(lambda: next_item(engine, next(users)), 30)

    def summary() -> None:
        with session_scope(engine) as s:
            denial_summary(s)

    out["remits_summary"] = timed(summary, 3)
    engine.dispose()
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        _one(*sys.argv[2:6])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ingest-claims", type=int, default=50_000)
    ap.add_argument("--send-claims", type=int, default=100_000)
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--remit-lines", type=int, default=10_000_000)
    ap.add_argument("--pg", default=PG_DEFAULT)
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--only", choices=("ingest", "send", "reads"), action="append")
    ap.add_argument("--json", type=Path, default=BENCH / "data" / "store-results.json")
    args = ap.parse_args()
    from bench_remits import synthetic_835

    only = set(args.only or ("ingest", "send", "reads"))
    data = BENCH / "data"
    data.mkdir(exist_ok=True)
    results: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}, "when": time.strftime("%F %T")}
    kinds = ["sqlite"] + ([] if args.no_pg else ["postgresql"])
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        inputs: dict[str, list[Path]] = {"ingest": [], "send": []}
        for n in (args.ingest_claims // 5, args.ingest_claims):
            f = tmp / f"remit-{n}.835"
            f.write_text(synthetic_835(n))
            inputs["ingest"].append(f)
        for n in (args.send_claims // 5, args.send_claims):
            f = data / f"claims-{n}.837"
            if not f.exists():
                subprocess.run([sys.executable, str(BENCH / "gen_claims.py"), "--claims", str(n), "--out", str(f)],
                               check=True)
            inputs["send"].append(f)
        for kind in kinds:
            res: dict[str, Any] = {}
            for op in ("ingest", "send"):
                if op not in only:
                    continue
                for f in inputs[op]:
                    with database(kind, args.pg, tmp) as url:
                        r = run_one(op, url, f)
                    r["claims_per_s"] = r["claims"] / r["seconds"]
                    res[f"{op}_{r['claims']}"] = r
                    print(kind, op, json.dumps(r), flush=True)
            if "reads" in only:
                with database(kind, args.pg, tmp) as url:
                    res["reads"] = reads(url, args.items, args.remit_lines)
                print(kind, "reads", json.dumps(res["reads"]), flush=True)
            results[kind] = res
    args.json.write_text(json.dumps(results, indent=1) + "\n")
    print(f"results in {args.json}")


if __name__ == "__main__":
    main()
