"""Measure payer-learned edits on the seeded synthetic history (docs/learned-edits.md).

    .venv/bin/python bench/learned_eval.py [--seed 12] [--claims-per-week 200] [--pg URL] [--json OUT]

Generates a year of history (samples/gen_history.py), loads it into a fresh store through the real
paths (record_submitted_file + scrub results + ingest_835_file), learns on the claims sent in the
first 9 months (``--until`` 2026-09-30), then scrubs the 837s of the last 3 months with the learned
table and compares the LRN001 warnings with what the payers actually did:

* precision: warned lines that a hidden policy denied / warned lines;
* recall: lines a hidden policy denied that were warned / lines a hidden policy denied;
* false-warning rate: paid claims (no line denied) with a warning / paid claims.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "samples"))

def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--claims-per-week", type=int, default=200)
    ap.add_argument("--pg", default=None, help="e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--json", default=None, help="write the figures here too")
    args = ap.parse_args()
    from gen_history import evaluate, generate, load_history

    from store import open_database

    with tempfile.TemporaryDirectory() as tmp:
        hist = Path(tmp) / "hist"
        generate(hist, seed=args.seed, claims_per_week=args.claims_per_week)
        schema = None
        if args.pg:
            from sqlalchemy import create_engine, text

            schema = "bench_" + uuid.uuid4().hex[:10]
            admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'CREATE SCHEMA "{schema}"'))
            engine = open_database(f"{args.pg}?options=-csearch_path%3D{schema}")
        else:
            engine = open_database(f"sqlite:///{tmp}/hist.db")
        try:
            t0 = time.perf_counter()
            counts = load_history(engine, hist)
            load_s = time.perf_counter() - t0
            figures = evaluate(engine, hist)
            figures["load"] = {**counts, "seconds": round(load_s, 1)}
            figures["seed"] = args.seed
            figures["claims_per_week"] = args.claims_per_week
            figures["database"] = engine.dialect.name
        finally:
            engine.dispose()
            if schema:
                with admin.connect() as c:
                    c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    out = json.dumps(figures, indent=1)
    print(out)
    if args.json:
        Path(args.json).write_text(out + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
