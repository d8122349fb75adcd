"""LRN: payer-learned edits -- what this payer has been denying, learned from our own remits."""

from __future__ import annotations

from config.learned import claim_line_items, matching_patterns
from scrubber.engine import ClaimContext, Rule, ScrubFinding


class LearnedPayerEdit(Rule):
    """The line matches a pattern this payer has been denying (learned from our own 835s).

    ## What it checks
    With a learned table configured (`[learning] table = ...` in dermedi.toml, written by
    `dermedi learn`), every line is described by its procedure, modifiers, pointed diagnoses (code and
    category), place of service, the other codes of the same date (and those on the same diagnosis)
    and, for drug lines, the NDC unit; a line that has every item of one of the claim payer's learned
    patterns gets a warning naming the payer, the pattern, the denial (group-CARC/RARC), how many of
    the pattern's claims were denied and since when, and how many were paid later on appeal.  Only
    the most specific matching pattern of a line is reported.  Without a table the rule does nothing;
    patterns a published rule already explains are kept apart in the table and never reported here.

    ## Why it is denied
    Payers deny by their own policies, which are published nowhere the scrubber can read: the
    evidence is the payer's own remits (e.g. CO-50/N115 on 17110 for seborrheic keratosis, judged
    cosmetic).  A warning does not hold the claim; the payer setting `learned_edits = "error"` in
    dermedi.toml `[payers."<payer id>"]` holds it, `"off"` silences the rule for that payer.

    ## Example
    `17110` pointing at `L82.1` to a payer that denied that combination as CO-50/N115 in 8 of 10
    claims: "payer 87726 denied 17110 with L82.1 as CO-50/N115 in 8 of 10 claims since 2026-01-01".

    ## Correct coding
    Check the payer's policy before sending: document medical necessity (e.g. L82.0 inflamed
    seborrheic keratosis with symptoms), obtain the payer's authorization, bill the code the payer
    accepts, or have the patient sign a waiver (ABN-like notice) for a non-covered service.

    ## Source
    dermedi's own remit history (`dermedi learn`: submitted claims joined to the 835 lines that
    answered them, with support >= min_claims claims and denial rate >= min_rate); see
    docs/learned-edits.md.
    """

    id = "LRN001"
    name = "payer-learned-edit"
    family = "LRN"
    severity = "warning"
    carc = None

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        table = ctx.learned
        out: list[ScrubFinding] = []
        if table is None or not table.patterns:
            return out
        mode = ctx.payer.learned_edits
        if mode == "off":
            return out
        payer_id = ctx.claim.payer_id
        if not table.for_payer(payer_id):
            return out
        since = table.source.period_from
        for line, items in claim_line_items(ctx.claim):
            hits = matching_patterns(table, payer_id, items)
            if not hits:
                continue
            p = hits[0]
            out.append(self.finding(
                ctx, p.message(since), line=line, carc=p.carc or None,
                severity="error" if mode == "error" else "warning",
                correct=f"check payer {payer_id}'s policy for {p.describe()} before sending"))
        return out
