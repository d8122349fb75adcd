"""Bench: 835 ingest throughput and `worklist next` hand-out under contention.

    .venv/bin/python bench/bench_remits.py [--claims 3000] [--items 10000] [--workers 16] [--pg URL]

Ingest: a synthetic Medicare 835 with N claims (a third with a CO-97/M15 E/M denial) into a
fresh SQLite file.  Hand-out: N items, W threads each with its own engine, on PostgreSQL when
--pg is given (a throw-away schema), else SQLite.  Prints items, workers, double hand-outs,
missed and seconds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def synthetic_835(n: int) -> str:
    claims: list[str] = []
    total = 0
    for i in range(n):
        cid = f"BIG{i:06d}"
        if i % 3 == 0:
            claims += [f"CLP*{cid}*1*270*96*24*MB*PCN{i:08d}*11*1", "NM1*QC*1*PATIENT*X****MI*9AA9AA9AA90",
                       "SVC*HC:99213*120*0**1", "DTM*472*20261015", "CAS*CO*97*120", "LQ*HE*M15",
                       "SVC*HC:11102*150*96**1", "DTM*472*20261015", "CAS*CO*45*30", "CAS*PR*2*24"]
        else:
            claims += [f"CLP*{cid}*1*150*96*24*MB*PCN{i:08d}*11*1", "NM1*QC*1*PATIENT*X****MI*9AA9AA9AA90",
                       "SVC*HC:11102*150*96**1", "DTM*472*20261015", "CAS*CO*45*30", "CAS*PR*2*24"]
        total += 96
    head = ["ST*835*0001",
            f"BPR*I*{total}*C*ACH*CCP*01*011000015*DA*123456789*1512345678**01*011000028*DA*987654321*20261120",
            "TRN*1*BIG0001*1512345678", "DTM*405*20261119", "N1*PR*MEDICARE PART B DEMO", "N3*PO BOX 100",
            "N4*FARGO*ND*58108", "REF*2U*01112", "PER*BL*EDI SUPPORT*TE*8005551234",
            "N1*PE*SKIN CLINIC PA*XX*1234567893", "N3*100 MAIN ST", "N4*SPRINGFIELD*IL*62701", "REF*TJ*123456789",
            "LX*1"]
    body = head + claims
    body.append(f"SE*{len(body) + 1}*0001")
    segs = ["ISA*00*          *00*          *ZZ*MEDICAREB      *ZZ*DERMCLINIC     *261120*0800*^*00501*000000101*0*T*:",
            "GS*HP*MEDICAREB*DERMCLINIC*20261120*0800*101*X*005010X221A1", *body, "GE*1*101", "IEA*1*000000101"]
    return "~\n".join(segs) + "~\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", type=int, default=3000)
    ap.add_argument("--items", type=int, default=10000)
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--pg", default=None, help="e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    from remits.ingest import ingest_835_file
    from store import open_database

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "big.835"
        src.write_text(synthetic_835(args.claims))
        engine = open_database(f"sqlite:///{tmp}/bench.db")
        t0 = time.perf_counter()
        r = ingest_835_file(engine, src)
        dt = time.perf_counter() - t0
        engine.dispose()
        print(f"ingest: {r.claims} claims, {r.items_created} items in {dt:.1f} s ({r.claims / dt:.0f} claims/s)")
        import test_worklist_concurrency as conc

        if args.pg:
            from sqlalchemy import create_engine, text

            schema = "bench_" + uuid.uuid4().hex[:10]
            admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'CREATE SCHEMA "{schema}"'))
            try:
                conc._run(f"{args.pg}?options=-csearch_path%3D{schema}", args.items, args.workers)
            finally:
                with admin.connect() as c:
                    c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        else:
            conc._run(f"sqlite:///{tmp}/next.db", args.items, args.workers)


if __name__ == "__main__":
    main()
