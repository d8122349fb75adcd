"""Payer-learned edits: learn from the store which line patterns each payer denies.

``learn(engine, since=..., until=..., min_claims=5, min_rate=0.5) -> LearnResult``

1. SQL does the joins and aggregates: the first submitted copy of every claim (sent in the
   period), the outcome of each of its procedures over every remit that answered it (reversals
   excluded: denied on a line = a denial adjustment and paid less than charged; paid = paid with
   no denial adjustment), the denial codes of the worklist items (group, CARC as sent, RARCs) and
   the scrubber findings of each claim's latest scrub run.  All are streamed in claim-id order and
   merged, nothing is loaded whole.
2. Each claim's X12 is parsed once per pass and its lines described by the items of
   :func:`config.learned.claim_line_items` (procedure, modifiers, diagnoses and categories, place
   of service, same-day codes, same-diagnosis codes, NDC unit).
3. Pass one reads only claims with a denied line and counts, per payer, every pattern (one
   procedure item plus at most two other items) of their denied lines: the candidates are those
   denied in enough claims.  Pass two reads every claim and counts the candidates' support
   (claims billing the pattern), denials by code, denials later paid (``overturned``: a line
   denied and paid in a later remit, on appeal or resubmission, counts as not denied) and the
   denials a published rule had flagged.
4. A pattern is kept with support >= ``min_claims`` claims and a rate (claims denied with its
   most frequent denial code / support) >= ``min_rate``.  Redundant patterns are pruned: of a
   general pattern and a specific one it covers (same denial code), the general one is kept
   unless its claims outside the specific one fall short of the thresholds while the specific one
   is clearly (by 0.1) more often denied; patterns with the same evidence are merged.  A pattern
   whose denials a published rule had held (an error finding on half of them or more) is
   *explained* and kept apart (``explained``): LRN001 never warns on it.

The result is a :class:`config.learned.LearnedTable`: version (time of learning), source
(database, period, claim/line/denial counts), thresholds, patterns, explained patterns, and a
note saying why it is empty when it is.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import combinations
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from config.learned import LearnedPattern, LearnedSource, LearnedTable, LearnedThresholds, claim_line_items

MARGIN = 0.1            # how much more often a specific pattern must be denied to beat its generalization
EXPLAINED_SHARE = 0.5   # share of a pattern's denials a published rule flagged to call it explained
LRN_RULES = ("LRN",)    # our own warnings never explain a pattern


@dataclass
class LearnResult:
    table: LearnedTable
    claims_read: int = 0
    denied_claims_read: int = 0
    candidates: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class _Outcome:
    denied: bool = False
    paid: bool = False


@dataclass(slots=True)
class _Line:
    items: set[str]
    denied: bool
    overturned: bool
    code: str               # "CO-50/N115" of a denied line, else ""
    flagged: tuple[str, ...]
    day: str                # service date (ISO) or ""


@dataclass(slots=True)
class _Stats:
    claims: int = 0
    denied: Counter[str] = field(default_factory=Counter)        # denial code -> claims
    overturned: int = 0
    flagged: Counter[str] = field(default_factory=Counter)       # rule -> denied claims it flagged
    flagged_claims: int = 0
    first: str = ""
    last: str = ""


def _safe_url(engine: Engine) -> str:
    try:
        return make_url(str(engine.url)).render_as_string(hide_password=True).split("?", 1)[0]
    except Exception:
        return engine.dialect.name


def _bounds(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    lo = datetime.combine(since, time.min, UTC) if since else None
    hi = datetime.combine(until + timedelta(days=1), time.min, UTC) if until else None
    return lo, hi


def _order(dialect: str) -> str:
    return ' COLLATE "C"' if dialect == "postgresql" else ""


_DENIED_CLAIMS = ("SELECT rc.claim_id FROM remit_lines rl JOIN remit_claims rc ON rl.remit_claim_id = rc.id "
                  "WHERE rl.denied_amount > 0 AND rl.paid < rl.charge AND rc.is_reversal = :f")


def _submitted(conn: Any, since: date | None, until: date | None, denied_only: bool = False
               ) -> Iterator[tuple[str, str, str]]:
    """(claim id, payer id, x12) of the first submitted copy of each claim sent in the period
    (``denied_only``: of the claims with a line denied in some remit)."""
    lo, hi = _bounds(since, until)
    where: list[str] = []
    params: dict[str, Any] = {"f": False}
    if denied_only:
        where.append(f"s.claim_id IN ({_DENIED_CLAIMS})")
    if lo is not None:
        where.append("s.submitted_at >= :lo")
        params["lo"] = lo
    if hi is not None:
        where.append("s.submitted_at < :hi")
        params["hi"] = hi
    sql = ("SELECT s.claim_id, s.payer_id, s.x12 FROM submitted_claims s JOIN "
           "(SELECT MIN(id) AS id FROM submitted_claims GROUP BY claim_id) f ON s.id = f.id"
           + (" WHERE " + " AND ".join(where) if where else "")
           + f" ORDER BY s.claim_id{_order(conn.dialect.name)}")
    for row in conn.execution_options(stream_results=True, yield_per=2000).execute(text(sql), params):
        yield row[0], row[1], row[2]


_OUTCOMES = (
    "SELECT rc.claim_id, rl.procedure, "
    "MAX(CASE WHEN rl.denied_amount > 0 AND rl.paid < rl.charge THEN 1 ELSE 0 END), "
    "MAX(CASE WHEN rl.paid > 0 AND rl.denied_amount = 0 THEN 1 ELSE 0 END) "
    "FROM remit_lines rl JOIN remit_claims rc ON rl.remit_claim_id = rc.id "
    "WHERE rc.is_reversal = :f{only} GROUP BY rc.claim_id, rl.procedure ORDER BY rc.claim_id{order}")


def _outcomes(conn: Any, denied_only: bool = False) -> Iterator[tuple[str, dict[str, _Outcome]]]:
    """(claim id, procedure -> outcome) over every remit, in claim-id order."""
    sql = _OUTCOMES.format(order=_order(conn.dialect.name),
                           only=f" AND rc.claim_id IN ({_DENIED_CLAIMS})" if denied_only else "")
    cur: str | None = None
    acc: dict[str, _Outcome] = {}
    for cid, proc, denied, paid in conn.execution_options(stream_results=True, yield_per=5000).execute(
            text(sql), {"f": False}):
        if cid != cur:
            if cur is not None:
                yield cur, acc
            cur, acc = cid, {}
        acc[proc] = _Outcome(bool(denied), bool(paid))
    if cur is not None:
        yield cur, acc


def _denial_codes(conn: Any) -> dict[tuple[str, str], str]:
    """(claim id, procedure) -> "CO-50/N115" of the first worklist item of that line."""
    out: dict[tuple[str, str], str] = {}
    rows = conn.execute(text(
        "SELECT claim_id, procedure, group_code, carc_sent, carc, rarcs FROM work_items "
        "WHERE source = '835' AND line_number IS NOT NULL ORDER BY id"))
    for cid, proc, group, sent, carc, rarcs in rows:
        key = (cid, proc)
        if key not in out:
            code = f"{group}-{sent or carc}" if group else (sent or carc)
            out[key] = code + ("/" + rarcs if rarcs else "")
    return out


def _flags(conn: Any) -> dict[str, list[tuple[str | None, str]]]:
    """claim id -> (line, rule) of the errors of its latest scrub run (published rules only).

    Only errors explain a denial: a warning (e.g. EM001's "25 on the procedure's diagnosis")
    did not hold the claim, and the payer's own evidence is what LRN001 adds to it."""
    out: dict[str, list[tuple[str | None, str]]] = {}
    rows = conn.execute(text(
        "SELECT f.claim_id, f.line, f.rule FROM scrub_findings f JOIN "
        "(SELECT claim_id, MAX(id) AS run_id FROM scrub_runs GROUP BY claim_id) l ON f.run_id = l.run_id "
        "WHERE f.severity = 'error'"))
    for cid, line, rule in rows:
        if not str(rule).startswith(LRN_RULES):
            out.setdefault(cid, []).append((line, rule))
    return out


def _parse(x12: str) -> Any:
    """The claim of a submitted one-claim 837P: the fast reader, else :class:`edi.x837.Parser837`."""
    fast = fast_claim(x12)
    if fast is not None:
        return fast
    from edi.x837 import Parser837

    return next(Parser837(x12.encode("latin-1"), "submitted.837").claims(), None)


class _FastLine:
    """What :func:`config.learned.line_items` reads of a service line (same meaning as ServiceLine)."""

    __slots__ = ("code", "ctp_unit", "modifiers", "ndc", "number", "place_of_service", "pointers", "service_date")

    def __init__(self, number: str) -> None:
        self.number = number
        self.code = self.place_of_service = self.ndc = self.ctp_unit = ""
        self.modifiers: list[str] = []
        self.pointers: list[int] = []
        self.service_date: date | None = None


class _FastClaim:
    """What :func:`config.learned.claim_line_items` reads of a claim (same meaning as edi.x837.Claim)."""

    __slots__ = ("_dates", "diagnosis_codes", "lines", "payer_id", "place_of_service")

    def __init__(self) -> None:
        self.payer_id = self.place_of_service = ""
        self.diagnosis_codes: list[str] = []
        self.lines: list[_FastLine] = []
        self._dates: dict[str, date | None] = {}

    def date(self, qualifier: str) -> date | None:
        return self._dates.get(qualifier)


def fast_claim(x12: str) -> _FastClaim | None:
    """Read the learning features of a one-claim 837P (as :func:`remits.worklist.record_submitted_claims`
    stores them) straight from its segments: about ten times faster than the full parser, which
    validates everything.  None when the text is not the expected shape (the caller then parses it
    with :class:`edi.x837.Parser837`).  ``tests/test_learned.py`` checks both agree."""
    from edi.x837 import dotted_icd, parse_date

    if len(x12) < 106 or not x12.startswith("ISA"):
        return None
    el, comp, term = x12[3], x12[104], x12[105]
    claim: _FastClaim | None = None
    line: _FastLine | None = None
    payer_id = ""
    for raw in x12.split(term):
        seg = raw.strip("\r\n")
        if not seg:
            continue
        els = seg.split(el)
        sid = els[0]
        if claim is None:
            if sid == "CLM":
                claim = _FastClaim()
                claim.payer_id = payer_id
                c5 = els[5].split(comp) if len(els) > 5 else [""]
                claim.place_of_service = c5[0]
            elif sid == "NM1" and len(els) > 1 and els[1] == "PR":
                payer_id = els[9] if len(els) > 9 else ""
            elif sid == "HL" and len(els) > 3 and els[3] == "22":
                payer_id = ""
            continue
        if sid == "LX":
            line = _FastLine(els[1] if len(els) > 1 else "")
            claim.lines.append(line)
        elif sid == "CLM" or sid == "HL":
            return None                     # more than one claim: not a submitted one-claim copy
        elif sid in ("SE", "GE", "IEA"):
            break
        elif line is None:
            if sid == "HI":
                for e in els[1:]:
                    q, _, code = e.partition(comp)
                    if q in ("ABK", "ABF"):
                        claim.diagnosis_codes.append(dotted_icd(code.partition(comp)[0]))
            elif sid == "DTP" and len(els) > 3 and els[1] not in claim._dates:
                claim._dates[els[1]] = parse_date(els[3][:8])
        elif sid == "SV1":
            parts = els[1].split(comp) if len(els) > 1 else [""]
            line.code = parts[1] if len(parts) > 1 else ""
            line.modifiers = [m for m in parts[2:6] if m]
            line.place_of_service = els[5] if len(els) > 5 else ""
            if len(els) > 7 and els[7]:
                line.pointers = [int(p) for p in els[7].split(comp) if p.isdigit() and p.isascii()]
        elif sid == "DTP":
            if len(els) > 3 and els[1] == "472":
                line.service_date = parse_date(els[3][:8])
        elif sid == "LIN":
            line.ndc = els[3] if len(els) > 3 else ""
        elif sid == "CTP":
            line.ctp_unit = els[5].split(comp)[0] if len(els) > 5 else ""
    if claim is None or not claim.lines:
        return None
    return claim


def _claims(conn: Any, since: date | None, until: date | None, codes: dict[tuple[str, str], str],
            flags: dict[str, list[tuple[str | None, str]]], only_denied: bool
            ) -> Iterator[tuple[str, list[_Line]]]:
    """(payer id, described lines with outcomes) of every remitted claim (merge of the two streams)."""
    outcomes = _outcomes(conn, only_denied)
    nxt = next(outcomes, None)
    for cid, payer_id, x12 in _submitted(conn, since, until, only_denied):
        while nxt is not None and nxt[0] < cid:
            nxt = next(outcomes, None)
        if nxt is None:
            break
        if nxt[0] != cid:
            continue
        by_proc = nxt[1]
        if only_denied and not any(o.denied and not o.paid for o in by_proc.values()):
            continue
        claim = _parse(x12)
        if claim is None:
            continue
        claim_flags = flags.get(cid, [])
        lines: list[_Line] = []
        for ln, items in claim_line_items(claim):
            o = by_proc.get(ln.code)
            if o is None:
                continue
            final = o.denied and not o.paid
            code = codes.get((cid, ln.code), "") if o.denied else ""
            flagged = tuple(sorted({r for line, r in claim_flags if line is None or line == ln.number}))
            day = ln.service_date or claim.date("472") or claim.date("431")
            lines.append(_Line(items, final, o.denied and o.paid, code, flagged if o.denied else (),
                               day.isoformat() if day else ""))
        if lines:
            yield claim.payer_id or payer_id, lines


def _keys(payer: str, items: set[str], open_items: dict[str, set[str]] | None = None) -> Iterator[str]:
    """Every pattern key of a line: payer, anchor and at most two other items (sorted).  With
    ``open_items`` (anchor key -> the items its candidates use) only keys made of those."""
    all_others = sorted(i for i in items if not i.startswith("proc="))
    for a in (i for i in items if i.startswith("proc=")):
        base = payer + "\x1f" + a
        if open_items is None:
            others = all_others
        else:
            use = open_items.get(base)
            if use is None:
                continue
            others = [o for o in all_others if o in use]
        yield base
        for o in others:
            yield base + "\x1f" + o
        for o1, o2 in combinations(others, 2):
            if not _implies(o1, o2) and not _implies(o2, o1):     # dx=L82.1 with dxcat=L82 says no more
                yield base + "\x1f" + o1 + "\x1f" + o2


def _key(payer: str, items: frozenset[str]) -> str:
    anchor = next(i for i in items if i.startswith("proc="))
    return "\x1f".join([payer, anchor, *sorted(items - {anchor})])


def _implies(a: str, b: str) -> bool:
    kind, _, v = a.partition("=")
    return (kind == "dx" and b == "dxcat=" + v[:3]) or (kind == "samedx" and b == "with=" + v)


def _closure(items: frozenset[str]) -> frozenset[str]:
    out = set(items)
    for i in items:
        kind, _, v = i.partition("=")
        if kind == "dx":
            out.add("dxcat=" + v[:3])
        elif kind == "samedx":
            out.add("with=" + v)
        elif kind == "proc" and v and v[0].isalpha() and not v.endswith("*"):
            out.add("proc=" + v[0] + "*")
    return frozenset(out)


@dataclass
class _Cand:
    key: str
    payer: str
    items: frozenset[str]
    stats: _Stats
    code: str
    denied: int

    @property
    def anchor(self) -> str:
        return next(i for i in self.items if i.startswith("proc="))

    @property
    def rate(self) -> float:
        return self.denied / self.stats.claims if self.stats.claims else 0.0


def _generalizes(a: _Cand, b: _Cand, counters: dict[str, _Stats] | None = None) -> bool:
    """True when pattern ``a`` is a strict generalization of ``b`` (every claim of b is a claim of a):
    by their items (dx=L82.1 implies dxcat=L82), or by the data: the pattern of both items together
    was counted on exactly b's claims (every claim billing b also bills a)."""
    if a.payer != b.payer:
        return False
    ca, cb = _closure(a.items), _closure(b.items)
    if ca == cb:
        return False
    if ca <= cb:
        return True
    if counters is None or a.anchor != b.anchor or a.stats.claims <= b.stats.claims:
        return False
    union = a.items | b.items
    if len(union) > 3:
        return False
    st = counters.get(_key(a.payer, union))
    return st is not None and st.claims == b.stats.claims


# of two patterns with the same evidence, the one whose condition says more about a policy is kept
_KIND_RANK = {"samedx": 0, "with": 1, "mod": 2, "ndc": 3, "dx": 4, "dxcat": 5, "pos": 6}


def _dedupe(group: list[_Cand]) -> list[_Cand]:
    """One pattern per (anchor, denial code, claims, denied): equal counts on the same anchor mean the
    same claims in practice (e.g. "99213 with D48.x" and "99213 with 11102 on the same diagnosis")."""
    best: dict[tuple[str, str, int, int], _Cand] = {}
    for c in group:
        anchor = next(i for i in c.items if i.startswith("proc="))
        key = (anchor, c.code, c.stats.claims, c.denied)

        def rank(x: _Cand) -> tuple[int, tuple[int, ...]]:
            kinds = sorted(_KIND_RANK.get(i.partition("=")[0], 9) for i in x.items if not i.startswith("proc="))
            return len(kinds), tuple(kinds)

        if key not in best or rank(c) < rank(best[key]):
            best[key] = c
    return [c for c in group if best.get((next(i for i in c.items if i.startswith("proc=")), c.code,
                                           c.stats.claims, c.denied)) is c]


def _select(cands: list[_Cand], min_claims: int, min_rate: float,
            counters: dict[str, _Stats] | None = None) -> list[_Cand]:
    ok = [c for c in cands if c.stats.claims >= min_claims and c.rate >= min_rate]
    ok.sort(key=lambda c: (len(c.items), -c.rate, c.key))
    by_payer: dict[str, list[_Cand]] = {}
    for c in ok:
        by_payer.setdefault(c.payer, []).append(c)
    kept: list[_Cand] = []
    for group in by_payer.values():
        group = _dedupe(group)
        dropped: set[str] = set()
        for a in group:
            for b in group:
                if a is b or a.code != b.code or not _generalizes(a, b, counters):
                    continue
                # a is general, b specific: a alone covers b's claims; it is kept unless its claims
                # outside b fall short of the thresholds while b is clearly (MARGIN) more often denied
                rest = a.stats.claims - b.stats.claims
                rest_ok = rest >= min_claims and (a.denied - b.denied) / rest >= min_rate
                if rest_ok or b.rate < a.rate + MARGIN:
                    dropped.add(b.key)
                else:
                    dropped.add(a.key)
        kept.extend(c for c in group if c.key not in dropped)
    return kept


def _pattern(c: _Cand, rules: tuple[str, ...] = ()) -> LearnedPattern:
    code = c.code
    denial, _, rarcs = code.partition("/")
    group, _, carc = denial.partition("-") if "-" in denial else ("", "", denial)
    anchor = next(i for i in c.items if i.startswith("proc="))
    return LearnedPattern(
        payer_id=c.payer, procedure=anchor[5:], conditions=tuple(sorted(c.items - {anchor})), group=group,
        carc=carc, rarcs=tuple(r for r in rarcs.split(",") if r), claims=c.stats.claims, denied=c.denied,
        overturned=c.stats.overturned, rate=round(c.rate, 4), first_date=c.stats.first or None,
        last_date=c.stats.last or None, rules=rules)


def _count_support(counters: dict[str, _Stats], payer: str, line_items: list[set[str]], only: set[str],
                   open_items: dict[str, set[str]], n: int) -> None:
    seen = {k for items in line_items for k in _keys(payer, items, open_items) if k in only}
    for k in seen:
        counters[k].claims += n


Signature = tuple[str, tuple[tuple[str, ...], ...]]
MAX_SIGNATURES = 200_000


def _flush_support(counters: dict[str, _Stats], sigs: Counter[Signature], only: set[str],
                   open_items: dict[str, set[str]]) -> None:
    """Count the support of the claims without a denial, grouped by their line items: claims with
    the same lines (most of them, in a practice's history) are expanded into pattern keys once."""
    for (payer, lines), n in sigs.items():
        _count_support(counters, payer, [set(items) for items in lines], only, open_items, n)
    sigs.clear()


def _count_claim(counters: dict[str, _Stats], payer: str, lines: list[_Line], only: set[str],
                 open_items: dict[str, set[str]]) -> None:
    if not any(ln.denied or ln.overturned for ln in lines):      # most claims: support only
        _count_support(counters, payer, [ln.items for ln in lines], only, open_items, 1)
        return
    per_key: dict[str, list[_Line]] = {}
    for ln in lines:
        for k in _keys(payer, ln.items, open_items):
            if k in only:
                per_key.setdefault(k, []).append(ln)
    for k, lns in per_key.items():
        st = counters.get(k)
        if st is None:
            st = counters[k] = _Stats()
        st.claims += 1
        den = [ln for ln in lns if ln.denied]
        if den:
            codes = {ln.code for ln in den}
            for code in codes:
                st.denied[code] += 1
            day = min(ln.day for ln in den)
            if day and (not st.first or day < st.first):
                st.first = day
            day = max(ln.day for ln in den)
            if day > st.last:
                st.last = day
        elif any(ln.overturned for ln in lns):
            st.overturned += 1
        rules = {r for ln in lns if ln.denied or ln.overturned for r in ln.flagged}
        if rules:
            st.flagged_claims += 1
            for r in rules:
                st.flagged[r] += 1


def learn(engine: Engine, *, since: date | None = None, until: date | None = None, min_claims: int = 5,
          min_rate: float = 0.5, now: datetime | None = None) -> LearnResult:
    """Learn the table (see the module docstring).  Read-only on the store."""
    import time as _time

    t0 = _time.perf_counter()
    timings: dict[str, float] = {}
    thresholds = LearnedThresholds(min_claims=min_claims, min_rate=min_rate)
    need_denied = max(1, math.ceil(min_claims * min_rate))
    with engine.connect() as conn:
        codes = _denial_codes(conn)
        flags = _flags(conn)
        timings["sql_lookups"] = _time.perf_counter() - t0
        # pass one: candidate patterns from claims with a denied line
        t1 = _time.perf_counter()
        first: dict[str, _Stats] = {}
        denied_claims = 0
        for payer, lines in _claims(conn, since, until, codes, flags, only_denied=True):
            denied_lines = [ln for ln in lines if ln.denied]
            if not denied_lines:
                continue
            denied_claims += 1
            keys: set[str] = set()
            for ln in denied_lines:
                keys.update(_keys(payer, ln.items))
            for k in keys:
                st = first.get(k)
                if st is None:
                    st = first[k] = _Stats()
                st.claims += 1
        candidates = {k for k, st in first.items() if st.claims >= need_denied}
        del first
        open_items: dict[str, set[str]] = {}
        for k in candidates:
            payer_, anchor, *rest = k.split("\x1f")
            open_items.setdefault(payer_ + "\x1f" + anchor, set()).update(rest)
        timings["pass_one"] = _time.perf_counter() - t1
        # pass two: support and evidence of the candidates over every claim
        t2 = _time.perf_counter()
        counters: dict[str, _Stats] = {k: _Stats() for k in candidates}
        sigs: Counter[Signature] = Counter()
        claims = lines_n = denied_n = 0
        payers: set[str] = set()
        period: list[str] = []
        for payer, lines in _claims(conn, since, until, codes, flags, only_denied=False):
            claims += 1
            lines_n += len(lines)
            denied_n += sum(1 for ln in lines if ln.denied)
            payers.add(payer)
            days = [ln.day for ln in lines if ln.day]
            if days:
                lo, hi = min(days), max(days)
                if not period:
                    period = [lo, hi]
                else:
                    period = [min(period[0], lo), max(period[1], hi)]
            if not candidates:
                continue
            if any(ln.denied or ln.overturned for ln in lines):
                _count_claim(counters, payer, lines, candidates, open_items)
            else:
                sigs[(payer, tuple(sorted(tuple(sorted(ln.items)) for ln in lines)))] += 1
                if len(sigs) >= MAX_SIGNATURES:
                    _flush_support(counters, sigs, candidates, open_items)
        _flush_support(counters, sigs, candidates, open_items)
        timings["pass_two"] = _time.perf_counter() - t2
    cands: list[_Cand] = []
    for k, st in counters.items():
        if not st.denied:
            continue
        code, n = max(st.denied.items(), key=lambda kv: (kv[1], kv[0]))
        parts = k.split("\x1f")
        cands.append(_Cand(k, parts[0], frozenset(parts[1:]), st, code, n))
    chosen = _select(cands, min_claims, min_rate, counters)
    patterns: list[LearnedPattern] = []
    explained: list[LearnedPattern] = []
    for c in chosen:
        flagged_share = c.stats.flagged_claims / max(c.denied + c.stats.overturned, 1)
        if flagged_share >= EXPLAINED_SHARE:
            rules = tuple(r for r, _ in c.stats.flagged.most_common())
            explained.append(_pattern(c, rules))
        else:
            patterns.append(_pattern(c))

    def order(p: LearnedPattern) -> tuple[str, str, tuple[str, ...]]:
        return p.payer_id, p.procedure, p.conditions

    patterns.sort(key=order)
    explained.sort(key=order)
    source = LearnedSource(database=_safe_url(engine),
                           period_from=(since.isoformat() if since else (period[0] if period else None)),
                           period_to=(until.isoformat() if until else (period[1] if period else None)),
                           claims=claims, lines=lines_n, denied_lines=denied_n, payers=len(payers))
    note = ""
    if claims == 0:
        note = "no submitted claim of the period has a remit in the store: nothing to learn from"
    elif claims < min_claims:
        note = (f"only {claims} remitted claim(s) in the period, fewer than min_claims ({min_claims}): "
                "too little history")
    elif denied_n == 0:
        note = f"{claims} remitted claim(s), none denied: nothing to learn"
    elif not patterns and not explained:
        note = (f"{claims} remitted claim(s), {denied_n} denied line(s): no pattern reaches {min_claims} claims "
                f"and a {min_rate:.0%} denial rate")
    elif not patterns:
        note = "every pattern found is already flagged by a published rule (see explained)"
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    table = LearnedTable(version=stamp, source=source, thresholds=thresholds, patterns=tuple(patterns),
                         explained=tuple(explained), note=note)
    return LearnResult(table, claims_read=claims, denied_claims_read=denied_claims, candidates=len(candidates),
                       seconds=_time.perf_counter() - t0, timings=timings)


def learned_summary(table: LearnedTable) -> dict[str, Any]:
    """What a dashboard shows: source, counts and every pattern with its rate (for the web workspace)."""
    return {
        "version": table.version,
        "source": table.source.model_dump(mode="json"),
        "thresholds": table.thresholds.model_dump(mode="json"),
        "note": table.note,
        # would_have_caught: the claims of the learning period the warning would have flagged before sending
        "patterns": [{**p.model_dump(mode="json"), "description": p.describe(), "denial": p.denial,
                      "would_have_caught": p.denied} for p in table.patterns],
        "explained": [{**p.model_dump(mode="json"), "description": p.describe(), "denial": p.denial}
                      for p in table.explained],
    }


def summary_text(table: LearnedTable) -> str:
    s = table.source
    out = [f"learned table {table.version}: {len(table.patterns)} pattern(s), {len(table.explained)} explained "
           f"by published rules; from {s.claims} claim(s), {s.lines} line(s), {s.denied_lines} denied, "
           f"{s.payers} payer(s), {s.period_from or '?'} to {s.period_to or '?'}"]
    if table.note:
        out.append(f"note: {table.note}")
    for p in table.patterns:
        out.append(f"  {p.payer_id:<10} {p.describe():<50} {p.denial:<16} {p.denied:>5}/{p.claims:<5} "
                   f"{p.rate:.0%}" + (f"  (overturned {p.overturned})" if p.overturned else ""))
    for p in table.explained:
        out.append(f"  explained  {p.payer_id:<10} {p.describe():<40} {p.denial:<16} by {', '.join(p.rules)}")
    return "\n".join(out)
