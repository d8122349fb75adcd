#!/usr/bin/env python3
"""A seeded year of synthetic remit history for payer-learned edits (docs/learned-edits.md).

Writes one 837P per week (the claims of that week's dates of service, built with
:mod:`edi.build`), the 835s that answer them (one per payer and week, two weeks later) and, six
weeks after a denial that was appealed and won, an 835 paying the line (appeal / resubmission).
Five payers; four have a hidden policy, every payer adds random noise denials:

* ``87726`` denies 17110 with L82.1 (seborrheic keratosis, cosmetic) as CO-50/N115;
* ``60054`` denies 99213-25 billed with 11102 when both point at the same diagnosis, CO-97/M15;
* ``62308`` denies J-code lines without a specific NDC package unit (CTP05 ``UN`` or no NDC),
  CO-16/M119;
* ``77027`` (a Medicaid plan) denies J-code lines without an NDC, CO-16/M119 -- a policy the
  published rule DRG001 already flags (the learner keeps it apart as *explained*);
* ``47198`` has no policy, only noise.

Policies deny 90% of the matching lines (10% slip through paid); noise denies 3% of all lines
with one of a dozen CARCs; 30% of noise denials and 5% of policy denials are won on appeal.

``truth.json`` records, for every claim line, the payer, the date of service and what decided
its first answer (``policy:<name>``, ``noise`` or ``paid``).  :func:`load_history` puts the files
into a store through the real paths: :func:`remits.worklist.record_submitted_file` (with the
week's send time), the scrubber with :func:`remits.worklist.record_scrub_results`, and
:func:`remits.ingest.ingest_835_file`, in date order.

    python samples/gen_history.py OUT_DIR [--seed 12] [--claims-per-week 200] [--weeks 52]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time as _time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from edi.build import build_837  # noqa: E402

START = date(2026, 1, 5)          # a Monday
SEED = 12
LEARN_UNTIL = date(2026, 9, 30)     # learn on the first 9 months, scrub the last 3
CENT = Decimal("0.01")


@dataclass(frozen=True)
class HPayer:
    payer_id: str
    name: str
    sbr09: str
    policy: str
    weight: int


PAYERS = (
    HPayer("87726", "UNITED SYNTHETIC HEALTH", "CI", "sk", 3),
    HPayer("60054", "SAMPLE MUTUAL HEALTH", "CI", "em25", 3),
    HPayer("62308", "PLACEHOLDER CARE PLAN", "CI", "ndc", 2),
    HPayer("77027", "STATE MEDICAID TEST", "MC", "medicaid_ndc", 2),
    HPayer("47198", "BLUE SYNTHETIC PLAN", "BL", "", 2),
)
POLICY_DENIAL = {
    "sk": ("CO", "50", "N115"),
    "em25": ("CO", "97", "M15"),
    "ndc": ("CO", "16", "M119"),
    "medicaid_ndc": ("CO", "16", "M119"),
}
HIDDEN = ("sk", "em25", "ndc")          # the policies no published rule explains
NOISE = (("CO", "4", ""), ("CO", "11", ""), ("CO", "16", "MA130"), ("CO", "22", ""), ("CO", "27", ""),
         ("CO", "96", "N130"), ("CO", "151", ""), ("CO", "197", ""), ("CO", "109", ""), ("CO", "170", ""),
         ("CO", "252", "N706"), ("CO", "181", ""))
FEES = {"17110": "190.00", "17000": "120.00", "17003": "12.00", "99213": "160.00", "99214": "230.00",
        "11102": "240.00", "11104": "300.00", "11900": "110.00", "J3301": "14.00", "J0702": "30.00"}
DRUGS = {"J3301": ("00003029305", 4), "J0702": ("00517072001", 1)}
EM_DX = ("L70.0", "L20.9", "L40.0", "L71.9", "L21.9")


def _scenario(rng: random.Random) -> tuple[str, list[str], list[dict[str, Any]]]:
    """(name, diagnoses, lines) of one claim."""
    r = rng.random() * 100
    if r < 10:
        return "warts", ["B07.8"], [{"code": "17110"}]
    if r < 16:
        return "sk_l821", ["L82.1"], [{"code": "17110"}]
    if r < 20:
        return "sk_l820", ["L82.0"], [{"code": "17110"}]
    if r < 28:
        return "ak", ["L57.0"], [{"code": "17000"}, {"code": "17003", "units": rng.randint(1, 5)}]
    if r < 34:
        return "em_bx_same", ["D48.5"], [{"code": "99213", "modifiers": ["25"]}, {"code": "11102"}]
    if r < 40:
        dx = rng.choice(EM_DX)
        return "em_bx_diff", [dx, "D48.5"], [{"code": "99213", "modifiers": ["25"], "pointers": [1]},
                                              {"code": "11102", "pointers": [2]}]
    if r < 43:
        return "em14_bx_same", ["D48.5"], [{"code": "99214", "modifiers": ["25"]}, {"code": "11102"}]
    if r < 46:
        return "em_d48", ["D48.5"], [{"code": "99213"}]
    if r < 58:
        return "em", [rng.choice(EM_DX)], [{"code": "99213"}]
    if r < 64:
        return "em14", [rng.choice(EM_DX)], [{"code": "99214"}]
    if r < 69:
        return "bx", ["D48.5"], [{"code": "11102"}]
    if r < 72:
        return "bx_punch", ["D48.5"], [{"code": "11104"}]
    drug = rng.choice(sorted(DRUGS))
    ndc, units = DRUGS[drug]
    line: dict[str, Any] = {"code": drug, "units": units}
    if r < 84:
        name, line["ndc"], line["ctp"] = "il_ml", ndc, {"quantity": 1, "unit": "ML"}
    elif r < 94:
        name, line["ndc"], line["ctp"] = "il_un", ndc, {"quantity": 1, "unit": "UN"}
    else:
        name = "il_nondc"
    return name, ["L91.0"], [{"code": "11900"}, line]


def _policy(payer: HPayer, scenario: str, line: dict[str, Any]) -> str:
    """The hidden policy that denies this line at this payer, or ""."""
    code = line["code"]
    if payer.policy == "sk" and scenario == "sk_l821" and code == "17110":
        return "sk"
    if payer.policy == "em25" and scenario == "em_bx_same" and code == "99213":
        return "em25"
    if payer.policy == "ndc" and code.startswith("J") and (not line.get("ndc") or line["ctp"]["unit"] == "UN"):
        return "ndc"
    if payer.policy == "medicaid_ndc" and code.startswith("J") and not line.get("ndc"):
        return "medicaid_ndc"
    return ""


def _amt(d: Decimal) -> str:
    return format(d.quantize(CENT), "f")


@dataclass
class _Answer:
    claim_id: str
    lines: list[tuple[int, str, list[str], Decimal, Decimal, list[tuple[str, str, Decimal]], str]]
    # (line number, code, modifiers, charge, paid, cas, rarc)


def _paid_line(n: int, code: str, mods: list[str], charge: Decimal
               ) -> tuple[int, str, list[str], Decimal, Decimal, list[tuple[str, str, Decimal]], str]:
    allowed = (charge * Decimal("0.45")).quantize(CENT)
    coins = (allowed * Decimal("0.2")).quantize(CENT)
    return (n, code, mods, charge, allowed - coins, [("CO", "45", charge - allowed), ("PR", "2", coins)], "")


def _write_835(path: Path, payer: HPayer, pay_date: date, answers: list[_Answer], control: int) -> None:
    segs: list[list[str]] = []
    total = Decimal(0)
    body: list[list[str]] = []
    for k, a in enumerate(answers):
        charge = sum((ln[3] for ln in a.lines), Decimal(0))
        paid = sum((ln[4] for ln in a.lines), Decimal(0))
        pr = sum((amt for ln in a.lines for g, _, amt in ln[5] if g == "PR"), Decimal(0))
        total += paid
        status = "1" if paid > 0 else "4"
        body.append(["CLP", a.claim_id, status, _amt(charge), _amt(paid), _amt(pr) if pr else "", "13",
                     f"{payer.payer_id}{control:05d}{k:05d}", "11", "1"])
        body.append(["NM1", "QC", "1", "PATIENT", "TEST", "", "", "", "MI", "SYNTH0001"])
        for n, code, mods, lcharge, lpaid, cas, rarc in a.lines:
            body.append(["SVC", ":".join(["HC", code, *mods]), _amt(lcharge), _amt(lpaid)])
            by_group: dict[str, list[str]] = {}
            for g, carc, amt in cas:
                by_group.setdefault(g, []).extend([carc, _amt(amt), ""])
            for g, els in by_group.items():
                while els and els[-1] == "":
                    els.pop()
                body.append(["CAS", g, *els])
            body.append(["REF", "6R", f"{a.claim_id}L{n}"])
            if rarc:
                body.append(["LQ", "HE", rarc])
    d8 = pay_date.strftime("%Y%m%d")
    st = [["ST", "835", "0001"],
          ["BPR", "I" if total > 0 else "H", _amt(total), "C", "ACH" if total > 0 else "NON", *([""] * 11), d8],
          ["TRN", "1", f"T{payer.payer_id}{control:07d}", "1" + payer.payer_id.rjust(9, "0")],
          ["DTM", "405", d8], ["N1", "PR", payer.name], ["N3", "PO BOX 1"], ["N4", "SPRINGFIELD", "IL", "62701"],
          ["REF", "2U", payer.payer_id], ["PER", "BL", "PROVIDER SERVICES", "TE", "8005550199"],
          ["N1", "PE", "SKIN CLINIC PA", "XX", "1234567893"], ["N3", "100 MAIN ST"],
          ["N4", "SPRINGFIELD", "IL", "627011234"], ["REF", "TJ", "123456789"], ["LX", "1"], *body]
    st.append(["SE", str(len(st) + 1), "0001"])
    segs = [["ISA", "00", " " * 10, "00", " " * 10, "ZZ", payer.payer_id.ljust(15), "ZZ", "DERMCLINIC".ljust(15),
             pay_date.strftime("%y%m%d"), "0800", "^", "00501", f"{control:09d}", "0", "T", ":"],
            ["GS", "HP", payer.payer_id, "DERMCLINIC", d8, "0800", str(control), "X", "005010X221A1"], *st,
            ["GE", "1", str(control)], ["IEA", "1", f"{control:09d}"]]
    path.write_text("~\n".join("*".join(s) for s in segs) + "~\n", encoding="latin-1")


def generate(out: str | Path, *, seed: int = SEED, weeks: int = 52, claims_per_week: int = 200,
             policy_rate: float = 0.9, noise_rate: float = 0.03) -> dict[str, Any]:
    """Write the history under ``out`` (837/, 835/, truth.json); returns the truth."""
    rng = random.Random(seed)
    root = Path(out)
    (root / "837").mkdir(parents=True, exist_ok=True)
    (root / "835").mkdir(parents=True, exist_ok=True)
    weights = [p.weight for p in PAYERS]
    truth_lines: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    remits: dict[tuple[str, date], list[_Answer]] = {}
    control = 1000
    for w in range(weeks):
        monday = START + timedelta(weeks=w)
        specs: list[dict[str, Any]] = []
        for i in range(claims_per_week):
            payer = rng.choices(PAYERS, weights)[0]
            name, dx, lines = _scenario(rng)
            dos = monday - timedelta(days=7 - rng.randint(0, 4))
            cid = f"H{w:02d}{i:04d}"
            for ln in lines:
                ln.setdefault("charge", FEES[ln["code"]])
                if ln["code"] in DRUGS:
                    ln["charge"] = str(Decimal(FEES[ln["code"]]) * ln.get("units", 1))
            specs.append({"claim_id": cid, "payer": payer.sbr09, "payer_id": payer.payer_id,
                          "payer_name": payer.name, "dos": dos, "diagnoses": dx, "pos": "11", "lines": lines})
            answer = _Answer(cid, [])
            appeals: list[tuple[int, str, list[str], Decimal, Decimal, list[tuple[str, str, Decimal]], str]] = []
            for n, ln in enumerate(lines, start=1):
                charge = Decimal(str(ln["charge"]))
                mods = list(ln.get("modifiers") or [])
                pol = _policy(payer, name, ln)
                outcome = "paid"
                if pol and rng.random() < policy_rate:
                    outcome = "policy:" + pol
                    g, carc, rarc = POLICY_DENIAL[pol]
                elif rng.random() < noise_rate:
                    outcome = "noise"
                    g, carc, rarc = rng.choice(NOISE)
                if outcome == "paid":
                    answer.lines.append(_paid_line(n, ln["code"], mods, charge))
                else:
                    answer.lines.append((n, ln["code"], mods, charge, Decimal(0), [(g, carc, charge)], rarc))
                    if rng.random() < (0.3 if outcome == "noise" else 0.05):
                        appeals.append(_paid_line(n, ln["code"], mods, charge))
                truth_lines.append({"claim_id": cid, "line": n, "code": ln["code"], "payer_id": payer.payer_id,
                                    "dos": dos.isoformat(), "scenario": name, "outcome": outcome,
                                    "overturned": bool(appeals and appeals[-1][0] == n)})
            remits.setdefault((payer.payer_id, monday + timedelta(days=14)), []).append(answer)
            if appeals:
                remits.setdefault((payer.payer_id, monday + timedelta(days=56)), []).append(_Answer(cid, appeals))
        control += 1
        path = root / "837" / f"{monday.isoformat()}.837"
        path.write_text(build_837(specs, control=control, file_date=monday), encoding="latin-1")
        events.append({"date": monday.isoformat(), "kind": "837", "file": str(path.relative_to(root))})
    by_id = {p.payer_id: p for p in PAYERS}
    for (pid, day), answers in sorted(remits.items()):
        control += 1
        path = root / "835" / f"{day.isoformat()}-{pid}.835"
        _write_835(path, by_id[pid], day, answers, control)
        events.append({"date": day.isoformat(), "kind": "835", "file": str(path.relative_to(root))})
    events.sort(key=lambda e: (e["date"], e["kind"] != "837", e["file"]))
    truth = {"seed": seed, "weeks": weeks, "claims_per_week": claims_per_week, "start": START.isoformat(),
             "hidden_policies": list(HIDDEN), "events": events, "lines": truth_lines}
    (root / "truth.json").write_text(json.dumps(truth), encoding="utf-8")
    return truth


def load_history(engine: Any, root: str | Path, *, until: date | None = None, scrub: bool = True) -> dict[str, int]:
    """Put the generated files into the store through the real paths, in date order (files dated
    after ``until`` are skipped).  Each week's 837 is recorded as sent that Monday and scrubbed
    (findings recorded for the closed loop) with the published rules."""
    from edi.x837 import Parser837
    from remits.ingest import ingest_835_file
    from remits.worklist import record_scrub_results, record_submitted_file
    from scrubber.engine import Scrubber
    from store import session_scope

    base = Path(root)
    truth = json.loads((base / "truth.json").read_text(encoding="utf-8"))
    scrubber: Scrubber | None = None
    counts = {"837": 0, "835": 0, "claims": 0, "items": 0}
    for ev in truth["events"]:
        day = date.fromisoformat(ev["date"])
        if until is not None and day > until:
            continue
        path = base / ev["file"]
        if ev["kind"] == "837":
            sent = datetime.combine(day, time(18, 0), UTC)
            with session_scope(engine) as s:
                counts["claims"] += record_submitted_file(s, path, submitted_at=sent)
                if scrub:
                    if scrubber is None:
                        scrubber = Scrubber(today=day)
                    scrubber.today = day
                    results = [scrubber.scrub(c) for c in Parser837(path, path.name).claims()]
                    record_scrub_results(s, results, scrubbed_at=sent)
            counts["837"] += 1
        else:
            r = ingest_835_file(engine, path, today=day)
            counts["835"] += 1
            counts["items"] += r.items_created
    return counts


def evaluate(engine: Any, hist: Path, *, until: date = LEARN_UNTIL, min_claims: int = 5,
             min_rate: float = 0.5) -> dict[str, Any]:
    from edi.x837 import Parser837
    from remits.learn import learn
    from scrubber.engine import Scrubber

    truth = json.loads((hist / "truth.json").read_text())
    t0 = _time.perf_counter()
    result = learn(engine, until=until, min_claims=min_claims, min_rate=min_rate)
    learn_s = _time.perf_counter() - t0
    table = result.table
    hidden = set(truth["hidden_policies"])
    scrubber = Scrubber(learned=table)
    warned: dict[tuple[str, int], str] = {}
    by_pattern: Counter[str] = Counter()
    held_out_claims: set[str] = set()
    for ev in truth["events"]:
        if ev["kind"] != "837" or date.fromisoformat(ev["date"]) <= until:
            continue
        path = hist / ev["file"]
        scrubber.today = date.fromisoformat(ev["date"])
        for claim in Parser837(path, path.name).claims():
            held_out_claims.add(claim.claim_id)
            for f in scrubber.scrub(claim).findings:
                if f.rule == "LRN001" and f.line:
                    warned[(claim.claim_id, int(f.line))] = f.message
                    by_pattern[f.message.split(" in ", 1)[0]] += 1
    lines = [ln for ln in truth["lines"] if ln["claim_id"] in held_out_claims]
    policy_lines = {(ln["claim_id"], ln["line"]) for ln in lines
                    if ln["outcome"].startswith("policy:") and ln["outcome"][7:] in hidden}
    tp = len(policy_lines & warned.keys())
    claims_outcome: dict[str, bool] = {}
    for ln in lines:
        claims_outcome[ln["claim_id"]] = claims_outcome.get(ln["claim_id"], True) and ln["outcome"] == "paid"
    paid_claims = {c for c, ok in claims_outcome.items() if ok}
    warned_claims = {c for c, _ in warned}
    per_policy = {}
    for pol in sorted(hidden):
        pl = {(ln["claim_id"], ln["line"]) for ln in lines if ln["outcome"] == "policy:" + pol}
        per_policy[pol] = {"denied_lines": len(pl), "warned": len(pl & warned.keys()),
                           "recall": round(len(pl & warned.keys()) / len(pl), 3) if pl else None}
    return {
        "learned": {"patterns": len(table.patterns), "explained": len(table.explained),
                    "claims": table.source.claims, "lines": table.source.lines, "seconds": round(learn_s, 2),
                    "table": [f"{p.payer_id} {p.describe()} {p.denial} {p.denied}/{p.claims}" for p in table.patterns],
                    "explained_table": [f"{p.payer_id} {p.describe()} {p.denial} by {','.join(p.rules)}"
                                        for p in table.explained]},
        "held_out": {"claims": len(held_out_claims), "lines": len(lines), "hidden_policy_denials": len(policy_lines),
                     "warnings": len(warned), "warnings_by_pattern": dict(by_pattern.most_common())},
        "precision": round(tp / len(warned), 3) if warned else None,
        "recall": round(tp / len(policy_lines), 3) if policy_lines else None,
        "per_policy": per_policy,
        "paid_claims": len(paid_claims),
        "paid_claims_warned": len(paid_claims & warned_claims),
        "false_warning_rate": round(len(paid_claims & warned_claims) / len(paid_claims), 4) if paid_claims else None,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--weeks", type=int, default=52)
    ap.add_argument("--claims-per-week", type=int, default=200)
    args = ap.parse_args(argv)
    truth = generate(args.out, seed=args.seed, weeks=args.weeks, claims_per_week=args.claims_per_week)
    print(f"{len(truth['lines'])} lines, {len(truth['events'])} files in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
