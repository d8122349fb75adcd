"""Denial classification: group code + CARC + RARCs (+ the line's procedure and modifiers).

Every 835 adjustment gets a *kind*:

* ``patient``       - group PR (PR-1/2/3 deductible, coinsurance, copay; PR-50/96/204 under an
                      ABN or waiver).  Recorded, never a denial.
* ``contractual``   - CO/PI/OA with CARC 45, 59, 253 (and 44, 104, 131, 144, 245; deactivated 42
                      and A2 map to 45).  Recorded, never a denial.
* ``informational`` - OA-23 (prior payer), 94 (processed in excess of charges), and any negative
                      amount (reversal entries).  Recorded, never a denial.
* ``denial``        - everything else.  A denial gets a *category* and an *action*.

Categories (exactly): bundling, coding_modifier, coding_dx, medical_necessity, non_covered,
authorization, eligibility, cob, duplicate, timely_filing, submission_error,
front_end_rejection (277CA rejections, see remits.ingest.ingest_277ca), other, and no_response
(no 835 after the payer's window, opened by the acknowledgment watch in remits.aging; never the
result of classifying an adjustment).

Actions: correct_and_resubmit, appeal, write_off, bill_patient, obtain_authorization,
update_coverage, review, follow_up (no_response: a claim status inquiry, 276/277 or the portal).

CARCs 16, 96, 234, 252 and A1 say "see the remark code": the route is chosen on the RARCs.
Deactivated CARCs are first mapped to their successor (config/tables/carc.csv) for the remit
date.  The first matching route wins.  Routing table (``ROUTES`` below; docs/remits.md holds
the same table):

==========================  =====================================  ===================  ======================
CARC                        RARC / line condition                  category             action
==========================  =====================================  ===================  ======================
any                         MA130 present                          submission_error     correct_and_resubmit
16                          M76                                    coding_dx            correct_and_resubmit
16                          any other RARC (N290, M51, N56, ...)   submission_error     correct_and_resubmit
16                          no RARC                                submission_error     review
4, 182                      -                                      coding_modifier      correct_and_resubmit
11, 146                     -                                      coding_dx            correct_and_resubmit
167, B22                    -                                      coding_dx            review
97, 234, 236, 231           E/M line (992xx-994xx) without 25      bundling             correct_and_resubmit
                            (fix: add modifier 25 - certain)
97, 234, 236, 231           line already has 25/59/XE/XS/XP/XU     bundling             appeal
97, 234, 236, 231           other lines                            bundling             review
107, B15                    -                                      bundling             correct_and_resubmit
50, 96, 204, 167            N383 (cosmetic)                        non_covered          write_off
50, 150, 151, 55, 56        -                                      medical_necessity    appeal
96                          N115, N386, N661 (LCD/NCD)             medical_necessity    appeal
96                          N130 or none                           non_covered          write_off / review
49                          -                                      non_covered          write_off
204, 119, 35, 256, 272-276  -                                      non_covered          review
197, 198, 39, 210, 243,     -                                      authorization        obtain_authorization
165
15                          -                                      authorization        correct_and_resubmit
242                         -                                      authorization        review
26, 27, 31-33, 109, 140,    -                                      eligibility          update_coverage
166, 177, 200, 239, 24
22, 136                     -                                      cob                  update_coverage
18, B13                     -                                      duplicate            review
29, 138                     -                                      timely_filing        write_off
5, 6, 7, 8, 58, 110, 181,   -                                      submission_error     correct_and_resubmit
189, 206, 207, 208
170, 171, 172, 183, 185, B7 -                                      other                appeal
226, 227, 250-252, 163,     documentation request (not an appeal)  other                review
164, B12, 133
A1 / unknown                RARC signal decides, else              other                review
==========================  =====================================  ===================  ======================

Medicare treats CO-16 with MA130 as unprocessable: never route it to appeal.  CO-29 is a
write-off (no appeal rights at Medicare).  OA-18 is reviewed: close it when the original was
paid, otherwise fix the distinguishing modifiers or ask for a reopening.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from remits.codes import carc_table, rarc_table

CATEGORIES: tuple[str, ...] = (
    "bundling", "coding_modifier", "coding_dx", "medical_necessity", "non_covered", "authorization",
    "eligibility", "cob", "duplicate", "timely_filing", "submission_error", "front_end_rejection", "other",
    "no_response",
)
ACTIONS: tuple[str, ...] = (
    "correct_and_resubmit", "appeal", "write_off", "bill_patient", "obtain_authorization", "update_coverage",
    "review", "follow_up",
)
KINDS: tuple[str, ...] = ("denial", "contractual", "patient", "informational")

# 42 and A2 (fee schedule / contractual, deactivated) are contractual even on remits dated before
# their stop dates.
CONTRACTUAL_CARCS = frozenset({"45", "59", "253", "44", "104", "131", "144", "245", "42", "A2"})
INFORMATIONAL_CARCS = frozenset({"23", "94"})
DISTINCT_MODIFIERS = frozenset({"25", "59", "XE", "XS", "XP", "XU", "76", "77"})


def is_em(code: str) -> bool:
    """Evaluation and management codes 99202-99499."""
    return len(code) == 5 and code.isdigit() and "99201" <= code <= "99499"


@dataclass(frozen=True, slots=True)
class Fix:
    """A correction the corrected-claim writer may apply because it is certain."""

    kind: str          # 'add_modifier'
    value: str         # e.g. '25'

    def describe(self) -> str:
        return f"add modifier {self.value}" if self.kind == "add_modifier" else f"{self.kind} {self.value}"


@dataclass(frozen=True, slots=True)
class Classification:
    kind: str                      # denial | contractual | patient | informational
    category: str                  # one of CATEGORIES for a denial, '' otherwise
    action: str                    # one of ACTIONS for a denial; bill_patient/write_off for the others
    route: str                     # the route id that matched (for audit and docs)
    carc: str                      # the CARC routed on (successor of a deactivated code)
    carc_sent: str
    deactivated: bool = False
    known: bool = True
    fix: Fix | None = None
    note: str = ""

    @property
    def is_denial(self) -> bool:
        return self.kind == "denial"


@dataclass(frozen=True, slots=True)
class LineFacts:
    """What a route may look at besides the codes."""

    procedure: str = ""
    modifiers: tuple[str, ...] = ()


Cond = Callable[[frozenset[str], LineFacts], bool]


@dataclass(frozen=True, slots=True)
class Route:
    id: str
    carcs: frozenset[str] | None       # None = any CARC
    category: str
    action: str
    rarcs_any: frozenset[str] | None = None
    cond: Cond | None = None
    fix: Fix | None = None
    note: str = ""

    def matches(self, carc: str, rarcs: frozenset[str], facts: LineFacts) -> bool:
        if self.carcs is not None and carc not in self.carcs:
            return False
        if self.rarcs_any is not None and not (rarcs & self.rarcs_any):
            return False
        return self.cond is None or self.cond(rarcs, facts)


def _s(*codes: str) -> frozenset[str]:
    return frozenset(codes)


def _em_without_25(_r: frozenset[str], f: LineFacts) -> bool:
    return is_em(f.procedure) and "25" not in f.modifiers


def _has_distinct_modifier(_r: frozenset[str], f: LineFacts) -> bool:
    return bool(DISTINCT_MODIFIERS & set(f.modifiers))


def _no_rarc(r: frozenset[str], _f: LineFacts) -> bool:
    return not r


BUNDLING = _s("97", "234", "236", "231")
LCD_RARCS = _s("N115", "N386", "N661")

ROUTES: tuple[Route, ...] = (
    Route("MA130", None, "submission_error", "correct_and_resubmit", rarcs_any=_s("MA130"),
          note="unprocessable claim: no appeal rights, send a corrected claim"),
    Route("16/M76", _s("16"), "coding_dx", "correct_and_resubmit", rarcs_any=_s("M76")),
    Route("16/no-rarc", _s("16"), "submission_error", "review", cond=_no_rarc,
          note="CARC 16 without a remark code: ask the payer which data element is wrong"),
    Route("16", _s("16"), "submission_error", "correct_and_resubmit",
          note="fix the data element the remark code names and resubmit"),
    Route("modifier", _s("4", "182"), "coding_modifier", "correct_and_resubmit"),
    Route("dx", _s("11", "146"), "coding_dx", "correct_and_resubmit"),
    Route("cosmetic", _s("50", "96", "204", "167"), "non_covered", "write_off", rarcs_any=_s("N383"),
          note="cosmetic: write off (bill the patient only with a signed waiver; appeal if medically indicated)"),
    Route("dx-not-covered", _s("167", "B22"), "coding_dx", "review",
          note="check the diagnosis coding; correct if mis-coded, else appeal with records"),
    Route("bundling/em-no-25", BUNDLING, "bundling", "correct_and_resubmit", cond=_em_without_25,
          fix=Fix("add_modifier", "25"),
          note="E/M with a same-day minor procedure: add 25 if the visit was significant and separately "
               "identifiable"),
    Route("bundling/modifier-present", BUNDLING, "bundling", "appeal", cond=_has_distinct_modifier,
          note="distinct-service modifier already billed: appeal with the notes"),
    Route("bundling", BUNDLING, "bundling", "review",
          note="check the NCCI edit: 59/XS if distinct and documented, otherwise write off"),
    Route("bundling/qualifying", _s("107", "B15"), "bundling", "correct_and_resubmit",
          note="add-on billed without its primary/qualifying service"),
    Route("medical-necessity", _s("50", "150", "151", "55", "56"), "medical_necessity", "appeal"),
    Route("96/lcd", _s("96"), "medical_necessity", "appeal", rarcs_any=LCD_RARCS),
    Route("96/plan-limits", _s("96"), "non_covered", "write_off", rarcs_any=_s("N130")),
    Route("96", _s("96"), "non_covered", "review", note="read the remark code; write off or bill under a waiver"),
    Route("screening", _s("49"), "non_covered", "write_off"),
    Route("non-covered", _s("204", "119", "35", "256", "272", "273", "276"), "non_covered", "review"),
    Route("auth-missing", _s("197", "198", "39", "210", "243", "165"), "authorization", "obtain_authorization"),
    Route("auth-number", _s("15"), "authorization", "correct_and_resubmit"),
    Route("network", _s("242"), "authorization", "review"),
    Route("eligibility", _s("26", "27", "31", "32", "33", "109", "140", "166", "177", "200", "239", "24"),
          "eligibility", "update_coverage"),
    Route("cob", _s("22", "136"), "cob", "update_coverage"),
    Route("duplicate", _s("18", "B13"), "duplicate", "review",
          note="close if the original was paid; otherwise add distinguishing modifiers or request a reopening"),
    Route("timely-filing", _s("29", "138"), "timely_filing", "write_off",
          note="write off; commercial payers may accept proof of timely submission (999/277CA)"),
    Route("submission", _s("5", "6", "7", "8", "58", "110", "181", "189", "206", "207", "208"),
          "submission_error", "correct_and_resubmit"),
    Route("provider", _s("170", "171", "172", "183", "185", "B7"), "other", "appeal",
          note="provider type/enrollment: fix the rendering provider or appeal with enrollment proof"),
    Route("documentation", _s("226", "227", "250", "251", "252", "163", "164", "B12", "133"), "other", "review",
          note="send the requested documentation; this is not an appeal"),
)

# RARC signal (config/tables/rarc.csv) -> route for CARC A1 and unknown CARCs.
SIGNAL_ROUTES: dict[str, tuple[str, str]] = {
    "bundling": ("bundling", "review"),
    "cosmetic": ("non_covered", "write_off"),
    "lcd": ("medical_necessity", "appeal"),
    "plan_limits": ("non_covered", "write_off"),
    "submission": ("submission_error", "correct_and_resubmit"),
    "coding_dx": ("coding_dx", "correct_and_resubmit"),
    "modifier": ("coding_modifier", "correct_and_resubmit"),
    "authorization": ("authorization", "obtain_authorization"),
    "eligibility": ("eligibility", "update_coverage"),
    "cob": ("cob", "update_coverage"),
    "duplicate": ("duplicate", "review"),
    "units": ("medical_necessity", "appeal"),
    "unprocessable": ("submission_error", "correct_and_resubmit"),
}


def classify(group: str, carc: str, rarcs: Sequence[str] = (), *, amount: Decimal | None = None,
             procedure: str = "", modifiers: Sequence[str] = (), remit_date: date | None = None) -> Classification:
    """Classify one adjustment.  ``rarcs`` are the line's LQ codes plus the claim's MOA codes."""
    group = group.upper()
    resolved = carc_table().resolve(carc, remit_date)
    code = resolved.code
    rset = frozenset(r.upper() for r in rarcs if r)

    def make(kind: str, category: str, action: str, route: str, fix: Fix | None = None,
             note: str = "") -> Classification:
        return Classification(kind, category, action, route, code, resolved.sent, resolved.deactivated,
                              resolved.known, fix, note)

    if amount is not None and amount < 0:
        return make("informational", "", "", "negative-amount", note="reversal or negative adjustment")
    if group == "PR":
        return make("patient", "", "bill_patient", "patient")
    if code in CONTRACTUAL_CARCS:
        return make("contractual", "", "write_off", "contractual")
    if code in INFORMATIONAL_CARCS:
        return make("informational", "", "", "informational")
    facts = LineFacts(procedure, tuple(m.upper() for m in modifiers if m))
    for route in ROUTES:
        if route.matches(code, rset, facts):
            return make("denial", route.category, route.action, route.id, route.fix, route.note)
    rt = rarc_table()
    for r in sorted(rset):
        entry = rt.get(r)
        if entry is not None and entry.extra in SIGNAL_ROUTES:
            category, action = SIGNAL_ROUTES[entry.extra]
            return make("denial", category, action, f"rarc:{r}")
    note = "CARC not in dermedi's table" if not resolved.known else ""
    return make("denial", "other", "review", "default", note=note)


def routing_table() -> list[dict[str, str]]:
    """The routes as rows (for docs and ``dermedi remits routes``)."""
    out = []
    for r in ROUTES:
        out.append({"route": r.id, "carcs": ",".join(sorted(r.carcs)) if r.carcs else "any",
                    "rarcs": ",".join(sorted(r.rarcs_any)) if r.rarcs_any else "",
                    "category": r.category, "action": r.action, "fix": r.fix.describe() if r.fix else "",
                    "note": r.note})
    return out
