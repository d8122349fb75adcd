"""Bench of the web workspace: N worklist items, C concurrent browser-like clients.

    .venv/bin/python bench/bench_web.py [--url URL] [--items 1000000] [--clients 16] [--rounds 25]
        [--workers N] [--only queue|item|take_next] [--json F]

1. Fills the database (default: a fresh SQLite file under /tmp) with ``--items`` worklist items
   in SQL (``INSERT ... SELECT`` over a recursive CTE / ``generate_series``; deterministic mix:
   13 categories, 70% new and unowned, 12% in progress with one of 40 billers, 6% appealed, 2%
   corrected, 10% closed; 25 payers, 14 procedures, amounts 5-2,000, deadlines over a year),
   unless it already holds that many: give ``--url`` of a database filled before (e.g.
   ``sqlite:////tmp/bench-web/bench.db``) and the fill is skipped.  Users ``biller0`` ..
   ``biller{C-1}`` are created.
2. Starts the real server (``dermedi web``, ``--workers`` uvicorn processes) on 127.0.0.1 and a
   free port.
3. Each client logs in as its own biller and, ``--rounds`` times: opens the queue page (first
   page, alternating with a filtered page and a deeper keyset page), opens one of its own items,
   and takes the next item, with no think time.  Latency is measured per request, client side.
   Before that, one unmeasured pass over the four queue pages fills the server's caches of the
   queue's counts and totals (computed once per filter and process, then reused for 30 s); the
   measured part starts when every client has logged in and warmed up.
   The clients are one asyncio loop of lean keep-alive HTTP/1.1 connections (the bench shares
   the machine's cores with the server, so its own CPU per request is measured and printed too,
   with the server processes' CPU per request, from /proc).
4. Prints p50 / p95 / p99 per kind and the targets (queue and item p95 < 150 ms, take-next
   p95 < 100 ms); ``--json F`` writes them too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, func, select, text

CATEGORIES = ("bundling", "bundling", "bundling", "coding_modifier", "coding_modifier", "medical_necessity",
              "medical_necessity", "coding_dx", "non_covered", "authorization", "eligibility", "cob", "duplicate",
              "timely_filing", "submission_error", "other")
PROCEDURES = ("99213", "99214", "11102", "11104", "17000", "17003", "17110", "11305", "11402", "12032",
              "17311", "17312", "J3301", "96920")
PASSWORD = "bench-password-1"
TARGETS = {"queue": 150.0, "item": 150.0, "take_next": 100.0}
KINDS = tuple(TARGETS)


def _series(dialect: str, n: int) -> str:
    if dialect == "sqlite":
        return f"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {int(n)}) SELECT n FROM s"
    return f"SELECT n FROM generate_series(1, {int(n)}) AS s(n)"


def _pick(values: tuple[str, ...], expr: str) -> str:
    whens = " ".join(f"WHEN {i} THEN '{v}'" for i, v in enumerate(values))
    return f"(CASE ({expr}) % {len(values)} {whens} END)"


def _date(dialect: str, days: str) -> str:
    if dialect == "sqlite":
        return f"date('2026-06-01', '+' || ({days}) || ' days')"
    return f"(DATE '2026-06-01' + ({days})::int)"


def fill(engine: Engine, n: int, chunk: int = 100_000) -> float:
    """Add ``n`` items in SQL; seconds taken."""
    d = engine.dialect.name
    t0 = time.perf_counter()
    with engine.begin() as conn:
        base = int(conn.execute(text("SELECT coalesce(max(id), 0) FROM work_items")).scalar_one())
    done = 0
    now = "'2026-12-01 09:00:00.000000'" if d == "sqlite" else "TIMESTAMPTZ '2026-12-01 09:00:00+00'"
    while done < n:
        size = min(chunk, n - done)
        k = f"(n + {base + done})"
        h = f"(({k} * 2654435761) % 1000003)"
        status = (f"(CASE WHEN {h} % 100 < 70 THEN 'new' WHEN {h} % 100 < 82 THEN 'in_progress' "
                  f"WHEN {h} % 100 < 88 THEN 'appealed' WHEN {h} % 100 < 90 THEN 'corrected' "
                  f"WHEN {h} % 100 < 97 THEN 'resolved' ELSE 'written_off' END)")
        owner = f"(CASE WHEN {h} % 100 < 70 THEN NULL ELSE 'biller' || ({h} % 40) END)"
        sql = (
            "INSERT INTO work_items (source, claim_id, line_number, line_control, procedure, modifiers, service_date, "
            "group_code, carc, carc_sent, rarcs, other_codes, category, action, route, fix, amount, charge, payer_id, "
            "payer_name, payer_type, payer_claim_number, remit_date, deadline, priority, status, owner, created_at, "
            "updated_at) "
            f"SELECT '835', 'B' || {k}, 1 + {h} % 4, '', {_pick(PROCEDURES, h)}, '', {_date(d, f'{h} % 180')}, "
            f"'CO', '97', '97', 'M15', '', {_pick(CATEGORIES, f'{h} / 7')}, 'appeal', '', '', "
            f"5 + ({h} % 199500) / 100.0, 10 + ({h} % 199500) / 100.0, 'P' || ({h} % 25), 'PAYER ' || ({h} % 25), "
            f"'commercial', 'PCN' || {k}, {_date(d, f'{h} % 180')}, {_date(d, f'120 + {h} % 365')}, "
            f"({h} % 1000000) / 100.0, {status}, {owner}, {now}, {now} FROM ({_series(d, size)}) AS q")
        with engine.begin() as conn:
            conn.execute(text(sql))
        done += size
        print(f"  {base + done:,} items", flush=True)
    with engine.begin() as conn:      # the planner's statistics (committed: they are transactional on PostgreSQL)
        conn.execute(text("ANALYZE work_items" if d == "postgresql" else "ANALYZE"))
    return time.perf_counter() - t0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, round(p / 100 * (len(v) - 1)))]


class _Conn:
    """One keep-alive HTTP/1.1 connection with the few things a browser does here (cookies, forms):
    a lean client, so that the bench's own CPU (it shares the cores with the server) stays small."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        body = urlencode(form).encode() if form is not None else b""
        head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", "Accept: text/html"]
        if self.cookies:
            head.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if form is not None:
            head += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        close = False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name = name.lower()
            if name == "content-length":
                length = int(value)
            elif name == "set-cookie":
                k, _, rest = value.strip().partition("=")
                v = rest.split(";", 1)[0]
                if v in ("", '""') or "max-age=0" in rest.lower():
                    self.cookies.pop(k, None)
                else:
                    self.cookies[k] = v
            elif name == "connection" and value.strip().lower() == "close":
                close = True
            elif name == "transfer-encoding":
                raise RuntimeError("chunked response")
        data = await self.reader.readexactly(length) if length else b""
        if close:
            self.writer.close()
            self.writer = None
        return status, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


_CSRF = re.compile(rb'name="csrf" value="([^"]+)"')
_NEXT = re.compile(rb'id="next-page" href="([^"]+)"')


async def _client(port: int, name: str, rounds: int, own: list[int], kinds: tuple[str, ...],
                  out: dict[str, list[float]], errors: list[str], start: asyncio.Event, ready: list[int]) -> None:
    c = _Conn(port)
    try:
        _, page = await c.request("GET", "/login")
        tok = _CSRF.search(page)
        assert tok is not None
        st, _ = await c.request("POST", "/login", {"username": name, "password": PASSWORD,
                                                   "csrf": tok.group(1).decode()})
        if st != 303:
            errors.append(f"{name}: login {st}")
            return
        _, q = await c.request("GET", "/queue")
        m = _CSRF.search(q)
        assert m is not None
        csrf = m.group(1).decode()
        nxt = _NEXT.search(q)
        deep = nxt.group(1).decode().replace("&amp;", "&") if nxt else "/queue"
        variants = ["/queue", "/queue?category=bundling", deep, "/queue?deadline=30d&payer=P3"]
        for v in variants:          # warm-up, not measured: the per-process caches of counts and totals fill
            await c.request("GET", v)
        ready.append(1)
        await start.wait()
        for i in range(rounds):
            if "queue" in kinds:
                t = time.perf_counter()
                st, _ = await c.request("GET", variants[i % len(variants)])
                out["queue"].append((time.perf_counter() - t) * 1000)
                if st != 200:
                    errors.append(f"{name}: queue {st}")
            if "item" in kinds:
                t = time.perf_counter()
                st, _ = await c.request("GET", f"/items/{own[i % len(own)]}")
                out["item"].append((time.perf_counter() - t) * 1000)
                if st != 200:
                    errors.append(f"{name}: item {st}")
            if "take_next" in kinds:
                t = time.perf_counter()
                st, _ = await c.request("POST", "/queue/next", {"csrf": csrf})
                out["take_next"].append((time.perf_counter() - t) * 1000)
                if st != 303:
                    errors.append(f"{name}: next {st}")
    except Exception as exc:      # a failed client is an error in the figures, not a lost task
        errors.append(f"{name}: {type(exc).__name__}")
    finally:
        c.close()


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its live children (uvicorn's worker processes)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            continue
        for k in kids:
            out += [k, *_children(k)]
    return out


async def _run_clients(port: int, names: list[str], rounds: int, own: dict[str, list[int]], kinds: tuple[str, ...],
                       server_pid: int) -> tuple[dict[str, list[float]], list[str], dict[str, float]]:
    out: dict[str, list[float]] = {"queue": [], "item": [], "take_next": []}
    errors: list[str] = []
    start = asyncio.Event()
    ready: list[int] = []
    tasks = [asyncio.create_task(_client(port, n, rounds, own[n] or [1], kinds, out, errors, start, ready))
             for n in names]
    while len(ready) + sum(t.done() for t in tasks) < len(tasks):   # all logged in and warmed up (or failed)
        await asyncio.sleep(0.02)
    s0, c0, t0 = _cpu_seconds(server_pid), time.process_time(), time.perf_counter()
    start.set()
    await asyncio.gather(*tasks)
    return out, errors, {"wall": time.perf_counter() - t0, "server_cpu": _cpu_seconds(server_pid) - s0,
                         "client_cpu": time.process_time() - c0}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default=None, help="database URL (default: a fresh SQLite file)")
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=25)
    ap.add_argument("--json", default=None)
    ap.add_argument("--workers", type=int, default=1, help="dermedi web --workers")
    ap.add_argument("--only", action="append", choices=KINDS, default=None,
                    help="measure only this kind of request (repeatable; for profiling one route)")
    args = ap.parse_args()
    kinds = tuple(args.only or KINDS)

    from dermedi.web.accounts import add_user
    from remits.actions import Actor
    from store import make_engine, open_database, session_scope
    from store.accounts import WebUser
    from store.remits import WorkItem

    work = Path(tempfile.mkdtemp(prefix="dermedi-bench-web-"))
    url = args.url or f"sqlite:///{work / 'bench.db'}"
    engine = open_database(url)
    with session_scope(engine) as s:
        have = int(s.scalar(select(func.count()).select_from(WorkItem)) or 0)
    if have < args.items:
        print(f"filling {args.items - have:,} items ({engine.dialect.name}) ...", flush=True)
        print(f"filled in {fill(engine, args.items - have):.1f} s", flush=True)
    names = [f"biller{i}" for i in range(args.clients)]
    own: dict[str, list[int]] = {}
    with session_scope(engine) as s:
        for n in names:
            if s.scalar(select(WebUser.id).where(WebUser.name == n)) is None:
                add_user(s, n, "biller", PASSWORD, Actor("bench", "cli"))
            own[n] = list(s.scalars(select(WorkItem.id).where(WorkItem.owner == n).limit(args.rounds)))
    engine.dispose()
    cfg = work / "dermedi.toml"
    cfg.write_text(f'[database]\nurl = "{url}"\n')
    os.chmod(cfg, 0o600)
    port = _free_port()
    log = (work / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-c", "from dermedi.cli import main; main()", "web", "--config",
                             str(cfg), "--port", str(port), "--workers", str(args.workers)],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.2)
        out, errors, cpu = asyncio.run(_run_clients(port, names, args.rounds, own, kinds, proc.pid))
        wall = cpu["wall"]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    result: dict[str, Any] = {"dialect": make_engine(url).dialect.name, "items": args.items, "clients": args.clients,
                              "rounds": args.rounds, "workers": args.workers, "wall_s": round(wall, 1),
                              "errors": len(errors), "cpus": os.cpu_count(),
                              "load": [round(x, 2) for x in os.getloadavg()]}
    n_req = sum(len(v) for v in out.values()) or 1
    result["requests_per_s"] = round(n_req / wall, 1)
    result["server_cpu_ms_per_request"] = round(cpu["server_cpu"] * 1000 / n_req, 2)
    result["client_cpu_ms_per_request"] = round(cpu["client_cpu"] * 1000 / n_req, 2)
    print(f"\n{result['dialect']}: {args.items:,} items, {args.clients} clients x {args.rounds} rounds, "
          f"{args.workers} server process(es), {wall:.1f} s, {n_req / wall:.0f} requests/s, {len(errors)} errors, "
          f"load {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"  CPU per request: server {result['server_cpu_ms_per_request']:.2f} ms (the dermedi web process(es), "
          f"not the database server), bench client {result['client_cpu_ms_per_request']:.2f} ms")
    ok = not errors
    for kind in kinds:
        values = out[kind]
        p50, p95, p99 = _pct(values, 50), _pct(values, 95), _pct(values, 99)
        met = p95 < TARGETS[kind]
        ok &= met
        result[kind] = {"n": len(values), "p50_ms": round(p50, 1), "p95_ms": round(p95, 1), "p99_ms": round(p99, 1),
                        "mean_ms": round(statistics.fmean(values), 1) if values else None,
                        "target_p95_ms": TARGETS[kind], "met": met}
        print(f"  {kind:<10} n={len(values):>5}  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  p99 {p99:7.1f} ms  "
              f"(target p95 < {TARGETS[kind]:.0f} ms: {'met' if met else 'NOT met'})")
    for e in errors[:10]:
        print("  error:", e)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
