"""Bench: the acknowledgment watch and aging queries on a large ledger.

    .venv/bin/python bench/bench_aging.py [--claims 200000] [--per-file 200] [--pg URL]

Seeds N claims in N/per-file submissions sent over the last 200 days (bulk Core inserts; a tenth
of the claims sent twice, half answered by an 835, a third by a 277CA, 2% rejected by the 999)
into a fresh SQLite file, or a throw-away PostgreSQL schema with --pg; then times
``late_report`` (late 999s, late 277CAs, claims without an 835, rejections) and ``aging``.
Prints the counts found and the seconds of each query.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, insert, text

from remits.aging import aging, late_report
from store import make_engine, migrate, session_scope
from store.acks import ClaimAck
from store.ledger import Submission, SubmissionClaim
from store.remits import RemitClaim, RemitFile, RemitPayment, SubmittedClaim

X12 = ("ISA*00*          *00*          *ZZ*SUBMITTERID    *ZZ*RECEIVERID     *240910*1200*^*00501*000000001*0*T*:~"
       "SBR*P*18*******{f}~")


def seed(url: str, n: int, per_file: int) -> None:
    engine = make_engine(url)
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    payers = [("MCR01", "MB"), ("MCD01", "MC"), ("UHC01", "CI"), ("BCBS1", "BL"), ("AET01", "CI")]
    files = (n + per_file - 1) // per_file
    with engine.begin() as c:
        c.execute(insert(RemitFile), [{"id": 1, "sha256": "r" * 64, "name": "bench.835", "kind": "835", "size": 1,
                                       "received_at": today, "status": "ingested", "transactions": 1, "claims": 0,
                                       "items_created": 0}])
        c.execute(insert(RemitPayment), [{
            "id": 1, "file_id": 1, "st_control": "0001", "payer_key": "X", "payer_id": "X", "payer_name": "X",
            "trace_number": "T1", "trace_payer_id": "X", "total_payment": Decimal(0), "credit_debit": "C",
            "method": "ACH", "payee_npi": "1", "payee_name": "X"}])
        subs, claims, submitted, remits, acks = [], [], [], [], []
        cid_n = 0
        for f in range(files):
            sent = today - timedelta(days=200 * (files - f) / files, hours=1)   # oldest file first
            state = "sent" if f % 50 == 0 else ("rejected" if f % 49 == 0 else "accepted")
            src = f"s{f:063d}"
            subs.append({"id": f + 1, "clearinghouse": "acme", "content_sha256": f"c{f:063d}",
                         "file_sha256": f"f{f:063d}", "source_sha256": src, "source_name": "b.837", "size": 1,
                         "isa13": f + 1, "gs06": str(f + 1), "remote_dir": "up", "remote_name": f"b{f}.x12",
                         "local_path": "-", "state": state, "attempts": 1, "created_at": sent, "updated_at": sent,
                         "sent_at": sent, "acked_at": None if state == "sent" else sent})
            for k in range(per_file):
                if cid_n >= n:
                    break
                again = cid_n % 10 == 0 and f > 0
                cid = f"CL{(cid_n - per_file if again else cid_n):08d}"   # sent again: a claim of the file before
                payer, fi = payers[cid_n % len(payers)]
                claims.append({"submission_id": f + 1, "clearinghouse": "acme", "claim_id": cid,
                               "claim_sha256": f"h{cid_n:063d}", "st02": f"{k + 1:04d}",
                               "ack_code": None if state == "sent" else ("R" if state == "rejected" else "A")})
                submitted.append({"claim_id": cid, "file_sha256": src, "submitted_at": sent, "payer_id": payer,
                                  "total_charge": Decimal(100 + cid_n % 400), "line_count": 1, "x12": X12.format(f=fi)})
                if cid_n % 2 == 0:
                    remits.append({"payment_id": 1, "claim_id": cid, "status": "1", "charge": Decimal(1),
                                   "paid": Decimal(1), "payer_claim_number": "P", "filing_indicator": fi,
                                   "frequency_code": "1", "is_reversal": False, "segment_number": 1})
                if cid_n % 3 == 0:
                    acks.append({"claim_id": cid, "source": "277CA", "status": "accepted", "code": "A1:20",
                                 "received_at": sent + timedelta(days=1)})
                cid_n += 1
        for table, rows in ((Submission, subs), (SubmissionClaim, claims), (SubmittedClaim, submitted),
                            (RemitClaim, remits), (ClaimAck, acks)):
            for i in range(0, len(rows), 5000):
                c.execute(insert(table), rows[i:i + 5000])
    if engine.dialect.name == "sqlite":
        with engine.begin() as c:
            c.execute(text("ANALYZE"))
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", type=int, default=200_000)
    ap.add_argument("--per-file", type=int, default=200)
    ap.add_argument("--pg", default="")
    args = ap.parse_args()
    schema = ""
    if args.pg:
        schema = f"b_{uuid.uuid4().hex[:10]}"
        admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{args.pg}?options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    try:
        migrate(url)
        t0 = time.perf_counter()
        seed(url, args.claims, args.per_file)
        print(f"seeded {args.claims} claims in {time.perf_counter() - t0:.1f}s ({url.split(':')[0]})")
        engine = make_engine(url)
        as_of = date.today()
        with session_scope(engine) as s:
            t0 = time.perf_counter()
            r = late_report(s, as_of)
            t1 = time.perf_counter()
            a = aging(s, as_of)
            t2 = time.perf_counter()
        print(f"late_report: {len(r.files)} late 999, {len(r.claims_277ca)} late 277CA, {len(r.claims_835)} no 835, "
              f"{len(r.rejections)} rejections in {t1 - t0:.2f}s")
        print(f"aging: {a['claims']} outstanding claims, ${a['amount']}, {len(a['by_payer'])} payers in {t2 - t1:.2f}s")
        engine.dispose()
    finally:
        if schema:
            with admin.connect() as c:
                c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
