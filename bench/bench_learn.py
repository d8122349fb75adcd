"""Bench: `dermedi learn` (remits.learn.learn) on a store with N remit lines.

    .venv/bin/python bench/bench_learn.py [--lines 1000000] [--pg URL] [--db FILE]

The store is filled directly with bulk Core inserts (the claims of samples/gen_history.py's
scenarios and payers, with their hidden policies and 3% noise: one submitted one-claim 837P per
claim, its remit claim and lines, a worklist item per denied line) -- the bench measures learning,
not ingest.  Prints the fill time, then the learn time with its stages and the peak RSS.  The
learn time grows linearly with the lines (two streamed passes; the X12 of each claim is parsed
once per pass, pass one only for claims with a denied line), so 10 million lines take about ten
times the printed figure.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "samples"))


def fill(engine: Any, lines_wanted: int, seed: int = 7) -> tuple[int, int]:
    import gen_history as g
    from sqlalchemy import insert

    from edi.build import build_837
    from store.remits import RemitClaim, RemitFile, RemitLine, RemitPayment, SubmittedClaim, WorkItem

    rng = random.Random(seed)
    now = datetime.now(UTC)
    weights = [p.weight for p in g.PAYERS]
    with engine.begin() as conn:
        conn.execute(insert(RemitFile), [{"id": 1, "sha256": "0" * 64, "name": "bench.835", "kind": "835", "size": 0,
                                          "received_at": now, "status": "ingested"}])
        conn.execute(insert(RemitPayment), [
            {"id": i + 1, "file_id": 1, "st_control": "0001", "payer_key": p.payer_id, "payer_id": p.payer_id,
             "payer_name": p.name, "trace_number": f"T{i}", "trace_payer_id": "1" + p.payer_id.rjust(9, "0"),
             "total_payment": Decimal(0), "credit_debit": "C", "method": "ACH", "payee_npi": "1234567893",
             "payee_name": "SKIN CLINIC PA"} for i, p in enumerate(g.PAYERS)])
    pay_ids = {p.payer_id: i + 1 for i, p in enumerate(g.PAYERS)}
    n_lines = n_claims = 0
    line_id = item_id = 0
    batch: dict[str, list[dict[str, Any]]] = {"sub": [], "rc": [], "rl": [], "wi": []}

    def flush() -> None:
        with engine.begin() as conn:
            for model, key in ((SubmittedClaim, "sub"), (RemitClaim, "rc"), (RemitLine, "rl"), (WorkItem, "wi")):
                if batch[key]:
                    conn.execute(insert(model), batch[key])
                    batch[key] = []

    start = date(2026, 1, 5)
    while n_lines < lines_wanted:
        payer = rng.choices(g.PAYERS, weights)[0]
        name, dx, lines = g._scenario(rng)
        dos = start + timedelta(days=rng.randint(0, 360))
        n_claims += 1
        cid = f"B{n_claims:09d}"
        for ln in lines:
            ln["charge"] = g.FEES[ln["code"]]
        spec = {"claim_id": cid, "payer": payer.sbr09, "payer_id": payer.payer_id, "payer_name": payer.name,
                "dos": dos, "diagnoses": dx, "lines": lines}
        x12 = build_837([spec], newlines=False)
        total = sum((Decimal(str(ln["charge"])) for ln in lines), Decimal(0))
        batch["sub"].append({"id": n_claims, "claim_id": cid, "file_sha256": "1" * 64,
                             "submitted_at": datetime(dos.year, dos.month, dos.day, tzinfo=UTC) + timedelta(days=2),
                             "payer_id": payer.payer_id, "total_charge": total, "line_count": len(lines), "x12": x12})
        batch["rc"].append({"id": n_claims, "payment_id": pay_ids[payer.payer_id], "claim_id": cid, "status": "1",
                            "charge": total, "paid": Decimal(0), "payer_claim_number": cid, "filing_indicator": "13",
                            "frequency_code": "1", "remit_date": dos + timedelta(days=16), "is_reversal": False,
                            "segment_number": 0})
        for k, ln in enumerate(lines, start=1):
            line_id += 1
            n_lines += 1
            charge = Decimal(str(ln["charge"]))
            pol = g._policy(payer, name, ln)
            deny = None
            if pol and rng.random() < 0.9:
                deny = g.POLICY_DENIAL[pol]
            elif rng.random() < 0.03:
                deny = rng.choice(g.NOISE)
            paid = Decimal(0) if deny else (charge * Decimal("0.36")).quantize(Decimal("0.01"))
            batch["rl"].append({"id": line_id, "remit_claim_id": n_claims, "line_number": k, "control_number": "",
                                "procedure": ln["code"], "modifiers": ",".join(ln.get("modifiers") or []),
                                "charge": charge, "paid": paid, "service_date": dos,
                                "denied_amount": charge if deny else Decimal(0)})
            if deny:
                item_id += 1
                batch["wi"].append({
                    "id": item_id, "source": "835", "claim_id": cid, "line_number": k, "procedure": ln["code"],
                    "group_code": deny[0], "carc": deny[1], "carc_sent": deny[1], "rarcs": deny[2],
                    "category": "coding", "action": "correct", "amount": charge, "payer_id": payer.payer_id,
                    "status": "new", "created_at": now, "updated_at": now, "remit_claim_id": n_claims,
                    "remit_line_id": line_id})
        if len(batch["rl"]) >= 20000:
            flush()
    flush()
    return n_claims, n_lines


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--pg", default=None, help="e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--db", default=None, help="SQLite file to fill (default: a temporary one)")
    ap.add_argument("--reuse", action="store_true", help="--db is already filled: only learn")
    args = ap.parse_args()
    from remits.learn import learn, summary_text
    from store import open_database

    with tempfile.TemporaryDirectory() as tmp:
        schema = None
        if args.pg:
            from sqlalchemy import create_engine, text

            schema = "bench_" + uuid.uuid4().hex[:10]
            admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'CREATE SCHEMA "{schema}"'))
            engine = open_database(f"{args.pg}?options=-csearch_path%3D{schema}")
        else:
            engine = open_database(f"sqlite:///{args.db or Path(tmp) / 'learn.db'}")
        try:
            t0 = time.perf_counter()
            if args.reuse:
                from sqlalchemy import text as sql

                with engine.connect() as c:
                    claims = c.execute(sql("SELECT COUNT(*) FROM submitted_claims")).scalar_one()
                    lines = c.execute(sql("SELECT COUNT(*) FROM remit_lines")).scalar_one()
            else:
                claims, lines = fill(engine, args.lines)
            print(f"fill: {claims} claims, {lines} remit lines in {time.perf_counter() - t0:.1f} s", flush=True)
            t0, c0 = time.perf_counter(), time.process_time()
            result = learn(engine)
            dt, cpu = time.perf_counter() - t0, time.process_time() - c0
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"learn ({engine.dialect.name}): {lines} lines in {dt:.1f} s wall, {cpu:.1f} s CPU of this process "
                  f"({lines / dt:,.0f} lines/s wall), "
                  f"{result.candidates} candidates, stages "
                  + ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items())
                  + f", peak RSS {rss:.0f} MB; 10M lines estimated {dt * 10_000_000 / lines / 60:.1f} min wall")
            print(summary_text(result.table))
        finally:
            engine.dispose()
            if schema:
                with admin.connect() as c:
                    c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    return 0


if __name__ == "__main__":
    sys.exit(main())
