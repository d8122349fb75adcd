"""EM: office E/M with procedures, modifiers 25 and 57."""

from __future__ import annotations

from datetime import timedelta

from scrubber.engine import ClaimContext, Rule, ScrubFinding
from scrubber.rules._common import OFFICE_EM, date_groups, global_days, is_office_em, line_npi

_MINOR = frozenset({"000", "010"})


class EMWithMinorProcedure(Rule):
    """Office E/M on the date of a procedure with a global period, without modifier 25.

    ## What it checks
    An office E/M (99202-99215) on the same date as a procedure whose global period is 000, 010 or
    090 days (per the PFS table, e.g. biopsies, excisions, destructions, Mohs, repairs, flaps) needs
    modifier 25 (or 57 when the procedure is a 090-day one; 57 with 000/010 procedures is EM002's
    error).  With 25, a WARNING is given when the E/M points only at diagnoses that the procedures
    also point at: a different diagnosis is not required, but the record must show a significant,
    separately identifiable service.

    ## Why it is denied
    The evaluation that leads to a minor procedure is part of the procedure's global package; the
    E/M is bundled (CARC 97) unless 25 shows a separately identifiable service.  This applies even
    where no PTP pair exists (new-patient E/M with 11102).

    ## Example
    `99213` + `11102` with no modifier on the E/M.

    ## Correct coding
    `99213-25` + `11102` when the visit went beyond the pre-procedure evaluation; otherwise bill the
    procedure only.

    ## Source
    NCCI Policy Manual ch. III (quoted at Ellzey Coding Solutions); CMS global surgery policy
    (NGS); NCCI PTP 11102/99213 indicator 1; seed errors E20, E22.
    """

    id = "EM001"
    triggers = OFFICE_EM
    name = "em-with-procedure-needs-25"
    family = "EM"
    severity = "error"
    carc = "97"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        for _d, lines, codes in date_groups(ctx):
            if not any(is_office_em(c) for c in codes):
                continue
            procs = [ln for ln in lines if global_days(ctx, ln.code) in ("000", "010", "090")]
            if not procs:
                continue
            major = any(global_days(ctx, p.code) == "090" for p in procs)
            proc_dx = {dx for p in procs for dx in ctx.line_diagnoses(p)}
            for em in lines:
                if not is_office_em(em.code):
                    continue
                if "57" in em.modifiers:
                    continue                      # EM002 judges 57
                if "25" not in em.modifiers:
                    names = ", ".join(sorted({p.code for p in procs}))
                    out.append(self.finding(
                        ctx, f"{em.code} on the same date as {names} (global period) without modifier 25",
                        line=em, lines=[em, *procs],
                        correct=f"{em.code}-25 if significant and separately identifiable"
                        + ("; 57 if it was the decision for the 090-day procedure" if major else "")
                        + "; otherwise drop the E/M"))
                    continue
                em_dx = set(ctx.line_diagnoses(em))
                if em_dx and em_dx <= proc_dx:
                    out.append(self.finding(
                        ctx, f"{em.code}-25 points only at the procedure's diagnosis ({', '.join(sorted(em_dx))}); "
                        "the record must show a significant, separately identifiable E/M", line=em,
                        severity="warning", correct="check documentation; point the E/M at the problem it addressed"))
        return out


class Modifier57OnlyMajor(Rule):
    """Modifier 57 (decision for surgery) on an E/M with only 000/010-day procedures.

    ## What it checks
    An E/M line with modifier 57 must be on the date of, or the day before, a procedure with a
    090-day global (14000-14350 flaps, 15xxx grafts, 13160).  It is an error when the same date has
    only 000/010-day procedures (excisions, biopsies, destructions, Mohs) and no 090-day procedure
    on that day or the next.

    ## Why it is denied
    57 applies only to major (090-day) procedures; for minor procedures the E/M needs 25, and a 57
    E/M is bundled.

    ## Example
    `99214-57` + `11603` for a melanoma leading to wide local excision (seed error E16).

    ## Correct coding
    `99214-25` + `11603` (if significant and separately identifiable).

    ## Source
    CMS Claims Processing Manual ch. 12 (quoted at medicalbillingcptmodifiers.com); NGS global
    surgery; CMS PFS global days; seed error E16.
    """

    id = "EM002"
    triggers = OFFICE_EM
    name = "modifier-57-only-090"
    family = "EM"
    severity = "error"
    carc = "4"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        by_date = ctx.lines_by_date
        for d, lines, _codes in date_groups(ctx):
            for em in lines:
                if "57" not in em.modifiers or not is_office_em(em.code):
                    continue
                nxt = by_date.get(d + timedelta(days=1), []) if d is not None else []
                if any(global_days(ctx, ln.code) == "090" for ln in [*lines, *nxt]):
                    continue
                minor = [ln for ln in lines if global_days(ctx, ln.code) in _MINOR]
                if minor:
                    out.append(self.finding(
                        ctx, f"{em.code}-57 with {', '.join(sorted({m.code for m in minor}))} (000/010-day global); "
                        "57 is only for 090-day procedures", line=em, lines=[em, *minor],
                        correct=f"{em.code}-25 if significant and separately identifiable"))
        return out


class TwoOfficeEM(Rule):
    """Two office E/M lines on the same date of service.

    ## What it checks
    At most one office E/M line (99202-99215) per date of service for the same rendering provider.

    ## Why it is denied
    One office visit is payable per patient per day per physician (same specialty/group); a new- and
    an established-patient code on one date, or two levels, cannot both be paid (NCCI 99203/99202 ...
    indicator 0).

    ## Example
    `99203` + `99213` on the same date.

    ## Correct coding
    One E/M whose level reflects the total MDM or time of the day.

    ## Source
    NCCI PTP 2024-07-01 (new-patient E/M pairs indicator 0); CMS Claims Processing Manual ch. 12 §30.6.
    """

    id = "EM003"
    triggers = OFFICE_EM
    name = "two-office-em"
    family = "EM"
    severity = "error"
    carc = "97"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        for _d, lines, _codes in date_groups(ctx):
            ems = [ln for ln in lines if is_office_em(ln.code)]
            if len(ems) < 2:
                continue
            by_npi: dict[str, list[object]] = {}
            for em in ems:
                by_npi.setdefault(line_npi(ctx, em), []).append(em)
            for group in by_npi.values():
                if len(group) > 1:
                    g = [ln for ln in ems if ln in group]
                    out.append(self.finding(
                        ctx, f"{len(g)} office E/M lines on one date ({', '.join(x.code for x in g)})",
                        line=g[1], lines=g, correct="one E/M for the day"))
        return out


class NurseVisitWithInjection(Rule):
    """99211 billed with an injection or photochemotherapy on the same date.

    ## What it checks
    99211 on the same date as 96372 (SC/IM injection), 96401/96402 (chemotherapy administration) or
    96910/96912/96913 (photochemotherapy).

    ## Why it is denied
    NCCI pairs 96372/99211, 96910/99211 ... have modifier indicator 0: 99211 is never paid with
    them, whatever the modifier.

    ## Example
    `96372` + `99211-25` for a biologic injection.

    ## Correct coding
    Bill the injection or phototherapy only (99212-99215 with 25 only for a separately identifiable
    physician visit).

    ## Source
    NCCI PTP 2024-07-01 (96372/99211, 96401/99211, 96402/99211, 96910/99211, 96912/99211,
    96913/99211 indicator 0).
    """

    id = "EM004"
    triggers = frozenset({"99211"})
    name = "99211-with-injection"
    family = "EM"
    severity = "error"
    carc = "236"
    _WITH = frozenset({"96372", "96401", "96402", "96910", "96912", "96913"})

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        for _d, lines, codes in date_groups(ctx):
            if "99211" in codes and not self._WITH.isdisjoint(codes):
                em = [ln for ln in lines if ln.code == "99211"]
                other = [ln for ln in lines if ln.code in self._WITH]
                out.append(self.finding(ctx, f"99211 billed with {', '.join(sorted({o.code for o in other}))} on the "
                                        "same date (NCCI indicator 0)", line=em[0], lines=[*em, *other],
                                        correct="drop 99211"))
        return out


_POSTOP_DAYS = {"010": 10, "090": 90}


class EMInPostopWithout24(Rule):
    """Office E/M inside the global package of a procedure on the same claim, without 24 or 57.

    ## What it checks
    An office E/M (99202-99215) on date D with none of the modifiers 24, 25 or 57, when the same
    claim has a procedure with a 010- or 090-day global on an earlier date D0 and D falls inside that
    global (D - D0 <= 10 or 90 days), or a 090-day procedure on the day after D (the pre-operative
    day).  Procedures on other claims are not seen, so an E/M alone on its claim is never judged.

    ## Why it is denied
    Pre- and postoperative visits are part of the surgical package (CARC 97).  An E/M for a problem
    unrelated to the surgery, by the same physician during the postoperative period, is paid only
    with 24; the E/M the day before a 090-day procedure that made the decision to operate, only
    with 57.

    ## Example
    `11602` on 10-01 and `99213` on 10-05 with no modifier; `99214` on 10-18 and `14040` on 10-19.

    ## Correct coding
    `99213-24` when the visit was for an unrelated problem (point it at that diagnosis); otherwise
    the visit is the included postoperative care and is not billed (99024).

    ## Source
    CMS global surgery policy (NGS); medicalbillingcptmodifiers.com global surgery modifiers (24);
    domain modifiers.yaml ("24"); PFS global days.
    """

    id = "EM005"
    triggers = OFFICE_EM
    name = "em-in-postop-needs-24"
    family = "EM"
    severity = "error"
    carc = "97"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        surgeries = [(d0, ln, _POSTOP_DAYS[g]) for ln in ctx.lines
                     if (g := str(global_days(ctx, ln.code))) in _POSTOP_DAYS and (d0 := ctx.line_date(ln)) is not None]
        if not surgeries:
            return out
        for em in ctx.lines:
            if not is_office_em(em.code) or not {"24", "25", "57"}.isdisjoint(em.modifiers):
                continue
            d = ctx.line_date(em)
            if d is None:
                continue
            open_ = [s for d0, s, days in surgeries if timedelta(days=1) <= d - d0 <= timedelta(days=days)]
            preop = [s for d0, s, days in surgeries if days == 90 and d0 - d == timedelta(days=1)]
            if preop and not open_:
                names = ", ".join(sorted({s.code for s in preop}))
                out.append(self.finding(ctx, f"{em.code} the day before the 090-day {names} on this claim without "
                                        "modifier 57", line=em, lines=[em, *preop],
                                        correct=f"{em.code}-57 if the visit made the decision to operate; otherwise "
                                        "it is the included pre-operative visit"))
            if open_:
                names = ", ".join(sorted({s.code for s in open_}))
                out.append(self.finding(
                    ctx, f"{em.code} falls in the postoperative period of {names} on this claim "
                    "without modifier 24", line=em, lines=[em, *open_],
                    correct=f"{em.code}-24 if unrelated to the surgery; otherwise not billable (99024)"))
        return out
