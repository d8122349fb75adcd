"""docs/rules.md, generated from the rule docstrings (``dermedi rules doc -o docs/rules.md``)."""

from __future__ import annotations

from scrubber.engine import all_rules

_FAMILIES = {
    "BX": "Biopsy", "CMP": "Claim completeness (units, frequency, ABN and cosmetic modifiers)",
    "LCD": "Medicare medical necessity by MAC (LCDs; warnings unless a payer profile says otherwise)",
    "DES": "Destruction", "DRG": "Drugs, NDC, JW/JZ", "EM": "E/M and modifiers 25/57",
    "EXC": "Excision, shave and site", "MOD": "Modifier validity", "MOH": "Mohs surgery",
    "NCCI": "NCCI procedure-to-procedure edits", "REP": "Repairs", "UNT": "Units, MUE and add-ons",
    "VAL": "Validity (codes, diagnoses, pointers, charges, NPI, dates)",
}


def rules_markdown() -> str:
    rules = all_rules()
    out = ["# Scrubber rules", "",
           "Generated from the rule docstrings by `dermedi rules doc -o docs/rules.md`; do not edit by hand.",
           "An `error` holds the claim; a `warning` is reported but the claim stays clean.  Findings also",
           "carry the CARC the rule prevents.  Claims that cannot be modelled are held with rule `X12`.", "",
           "| id | family | severity | CARC | summary |", "|---|---|---|---|---|"]
    for r in rules:
        fam = r.family or r.id.rstrip("0123456789")
        out.append(f"| [{r.id}](#{r.id.lower()}) | {fam} | {r.severity} | {r.carc or ''} | {r.summary()} |")
    current = None
    for r in rules:
        fam = r.family or r.id.rstrip("0123456789")
        if fam != current:
            current = fam
            out += ["", f"## {fam}: {_FAMILIES.get(fam, fam)}"]
        doc = r.doc()
        first, _, rest = doc.partition("\n")
        out += ["", f"### {r.id}", "", f"**{first.strip()}**  ", f"`{r.name}` · severity `{r.severity}` · "
                f"CARC {r.carc or '–'}", ""]
        out.append(("\n" + rest.strip()).replace("\n## ", "\n#### ").strip())
    return "\n".join(out).rstrip() + "\n"
