"""Scrub reports: a streamed JSON report and an HTML report for billers.

JSON (written claim by claim, never held in memory)::

    {"file": "in.837",
     "claims": [{"claim_id": "C1", "status": "held", "charge": "150.00",
                 "findings": [{"rule": "DES003", "severity": "error", "line": 3, "lines": [3, 1],
                               "message": "...", "carc": "236", "correct_coding": "17004 x1 alone"}]}],
     "summary": {...}}

HTML: the same claims grouped by status (held first), every finding with its rule's summary and
"correct coding" explanation, and a rule glossary.  A held claim also lists its service lines (code,
modifiers, units, charge, the diagnoses each line points at), so that a biller can correct it without
opening the 837P; findings folded under a root finding show as "n dependent findings".  Diagnosis codes
and procedure codes are not PHI; no patient or subscriber data is written.  It is written as two temporary parts (held,
clean) while scrubbing and joined at the end, so it streams as well.
"""

from __future__ import annotations

import html
import json
import os
import re
import tempfile
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from edi.files import append_file, private_open
from scrubber.engine import ClaimResult, ScrubFinding, get_rule

_CENT = Decimal("0.01")


def money(value: Any) -> str | None:
    """An amount with two decimals (as ``f"{value:.2f}"``; a Decimal is quantized, which is faster)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        try:
            return str(value.quantize(_CENT))
        except InvalidOperation:        # more digits than the context holds: format it
            pass
    return f"{value:.2f}"


def claim_entry(result: ClaimResult) -> dict[str, Any]:
    return {
        "claim_id": result.claim.claim_id,
        "status": result.status,
        "charge": money(result.claim.total_charge),
        "findings": [f.as_dict() for f in result.findings],
    }


_json_str = json.encoder.encode_basestring           # json.dumps(str, ensure_ascii=False)
_json_dumps = json.JSONEncoder(ensure_ascii=False).encode


class JsonReportWriter:
    """Streams ``{"file", "claims": [...], "summary"}`` to a text stream."""

    def __init__(self, out: IO[str], file_name: str) -> None:
        self.out = out
        self.count = 0
        out.write('{"file": ' + json.dumps(file_name) + ',\n "claims": [\n')

    def add(self, result: ClaimResult) -> None:
        # Same text as ``json.dumps(claim_entry(result), ensure_ascii=False)``, built without the dict.
        claim = result.claim
        findings = result.findings
        charge = money(claim.total_charge)
        self.out.write(
            (",\n  " if self.count else "  ")
            + '{"claim_id": ' + _json_str(claim.claim_id)
            + (', "status": "held", "charge": ' if result.held else ', "status": "clean", "charge": ')
            + ("null" if charge is None else '"' + charge + '"')
            + (', "findings": ' + _json_dumps([f.as_dict() for f in findings]) + "}" if findings
               else ', "findings": []}'))
        self.count += 1

    def close(self, summary: dict[str, Any]) -> None:
        self.out.write("\n ],\n " + '"summary": ' + json.dumps(summary, ensure_ascii=False, indent=1) + "}\n")


# ---- HTML ----------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#222;max-width:70rem}
h1{font-size:1.5rem} h2{margin-top:2rem;border-bottom:2px solid #ddd}
.claim{border:1px solid #ddd;border-radius:6px;margin:.8rem 0;padding:.6rem .9rem}
.held{border-left:6px solid #c0392b} .clean{border-left:6px solid #27ae60}
.sev-error{color:#c0392b;font-weight:600} .sev-warning{color:#b9770e;font-weight:600}
table{border-collapse:collapse;width:100%;margin-top:.4rem} td,th{padding:.25rem .5rem;vertical-align:top;
text-align:left;border-bottom:1px solid #eee} .muted{color:#777} code{background:#f4f4f4;padding:0 .2rem}
details{margin:.3rem 0} summary{cursor:pointer} table.lines{width:auto} tr.flagged{background:#fdf2e9}
"""


def _section(doc: str, title: str) -> str:
    """The text of a ``## title`` section of a rule docstring."""
    m = re.search(rf"^## {re.escape(title)}\s*\n(.*?)(?=^## |\Z)", doc, flags=re.M | re.S)
    return " ".join(m.group(1).split()) if m else ""


_RULE_INFO: dict[str, tuple[str, str]] = {}


def _rule_info(rule_id: str) -> tuple[str, str]:
    """(summary, correct coding) of a rule, or X12/unknown fallbacks (memoized: the docstring
    sections are searched once per rule, not once per finding)."""
    info = _RULE_INFO.get(rule_id)
    if info is None:
        info = _rule_info_uncached(rule_id)
        if len(_RULE_INFO) < 4096:
            _RULE_INFO[rule_id] = info
    return info


def _rule_info_uncached(rule_id: str) -> tuple[str, str]:
    if rule_id == "X12":
        return "The claim could not be read completely (X12 structure problem).", "Fix the segment named."
    try:
        cls = get_rule(rule_id)
    except KeyError:
        return "", ""
    return cls.summary(), _section(cls.doc(), "Correct coding")


def _finding_row(f: ScrubFinding) -> str:
    e = html.escape
    summary, correct = _rule_info(f.rule)
    fix = f.correct_coding or correct
    folded = ""
    if f.dependents:
        n = len(f.dependents)
        items = "".join(f"<li><code>{e(d.rule)}</code> {e(d.message)}</li>" for d in f.dependents)
        folded = (f"<details class='dependents'><summary>{n} dependent finding{'s' if n != 1 else ''} "
                  f"(same root cause)</summary><ul>{items}</ul></details>")
    return (f'<tr><td><code>{e(f.rule)}</code></td><td class="sev-{e(f.severity)}">{e(f.severity)}</td>'
            f'<td>{e(f.line or "")}</td><td>{e(f.message)}<div class="muted">{e(summary)}'
            f'{" (CARC " + e(f.carc) + ")" if f.carc else ""}</div>{folded}</td><td>{e(fix)}</td></tr>')


def _claim_lines(result: ClaimResult) -> str:
    """The service lines of a held claim (code, modifiers, units, charge, the diagnoses each points
    at), so that a biller can correct the claim without opening the 837P."""
    e = html.escape
    claim = result.claim
    dx = claim.diagnosis_codes
    flagged = {ln for f in result.findings for ln in (f.line, *f.lines) if ln}
    rows = ["<table class='lines'><tr><th>Line</th><th>Code</th><th>Modifiers</th><th>Units</th><th>Charge</th>"
            "<th>Diagnoses</th></tr>"]
    for ln in claim.lines:
        pointed = [f"{p}: {dx[p - 1]}" if 0 < p <= len(dx) else f"{p}: (none)" for p in ln.pointers]
        units = "" if ln.units is None else format(ln.units.normalize(), "f")
        mark = " class='flagged'" if ln.number in flagged else ""
        rows.append(f"<tr{mark}><td>{e(ln.number)}</td><td><code>{e(ln.code)}</code></td>"
                    f"<td>{e(' '.join(ln.modifiers))}</td><td>{e(units)}</td>"
                    f"<td>{e(money(ln.charge) or '?')}</td><td>{e(', '.join(pointed) or '(no pointer)')}</td></tr>")
    rows.append("</table>")
    if dx:
        rows.append(f"<div class='muted'>Diagnoses: {e(', '.join(f'{i}: {c}' for i, c in enumerate(dx, 1)))}</div>")
    return "".join(rows)


def claim_html(result: ClaimResult, rules_seen: set[str]) -> str:
    """The HTML block of one claim (a held claim with its lines); the rules it names are added to
    ``rules_seen``."""
    c = result.claim
    e = html.escape
    out = [f'<div class="claim {result.status}"><b>Claim {e(c.claim_id)}</b> '
           f'<span class="muted">charge {e(money(c.total_charge) or "?")} · {len(c.lines)} line(s) · '
           f'{result.status}</span>']
    if result.held:
        out.append(_claim_lines(result))
    if result.findings:
        out.append("<table><tr><th>Rule</th><th>Severity</th><th>Line</th><th>Finding</th>"
                   "<th>Correct coding</th></tr>")
        for f in result.findings:
            rules_seen.add(f.rule)
            out.append(_finding_row(f))
            for d in f.dependents:
                rules_seen.add(d.rule)
        out.append("</table>")
    out.append("</div>\n")
    return "".join(out)


class HtmlReportWriter:
    """Collects claims into a held part and a clean part (temporary files) and joins them."""

    def __init__(self, path: str | os.PathLike[str], file_name: str) -> None:
        self.path = Path(path)
        self.file_name = file_name
        folder = self.path.parent if self.path.parent.exists() else None
        self._held = tempfile.TemporaryFile("w+", encoding="utf-8", dir=folder)
        self._clean = tempfile.TemporaryFile("w+", encoding="utf-8", dir=folder)
        self.rules_seen: set[str] = set()
        # pieces written elsewhere (a worker's spool files), joined after the parts above
        self._held_files: list[str] = []
        self._clean_files: list[str] = []

    def add(self, result: ClaimResult) -> None:
        part = self._held if result.held else self._clean
        part.write(claim_html(result, self.rules_seen))

    def add_parts(self, held: str, clean: str, rules: Iterable[str]) -> None:
        """Blocks made elsewhere (by :meth:`claim_html` on a chunk of the file), in file order."""
        if held:
            self._held.write(held)
        if clean:
            self._clean.write(clean)
        self.rules_seen.update(rules)

    def add_part_files(self, held: str | None, clean: str | None, rules: Iterable[str]) -> None:
        """Blocks made elsewhere and written to files (UTF-8), in file order; the files are copied
        into the report by :meth:`close` (the caller removes them afterwards)."""
        if held:
            self._held_files.append(held)
        if clean:
            self._clean_files.append(clean)
        self.rules_seen.update(rules)

    def close(self, summary: dict[str, Any]) -> None:
        e = html.escape
        with private_open(self.path, "w") as out:
            out.write(f"<!doctype html><html><head><meta charset='utf-8'><title>dermedi scrub report – "
                      f"{e(self.file_name)}</title><style>{_CSS}</style></head><body>")
            out.write(f"<h1>Scrub report: {e(self.file_name)}</h1>")
            out.write(f"<p>{summary.get('claims', 0)} claim(s): <span class='sev-error'>{summary.get('held', 0)} "
                      f"held</span>, {summary.get('clean', 0)} clean; {summary.get('errors', 0)} error(s), "
                      f"{summary.get('warnings', 0)} warning(s).</p>")
            for title, part, files in (("Held claims", self._held, self._held_files),
                                       ("Clean claims", self._clean, self._clean_files)):
                out.write(f"<h2>{title}</h2>")
                part.seek(0)
                empty = True
                while chunk := part.read(1 << 16):
                    empty = False
                    out.write(chunk)
                if files:
                    out.flush()
                    for name in files:
                        if append_file(out.fileno(), name):
                            empty = False
                if empty:
                    out.write("<p class='muted'>none</p>")
                part.close()
            out.write(self._glossary(sorted(self.rules_seen)))
            out.write("</body></html>\n")

    def abort(self) -> None:
        self._held.close()
        self._clean.close()

    @staticmethod
    def _glossary(rule_ids: Iterable[str]) -> str:
        e = html.escape
        parts = ["<h2>Rules that fired</h2>"]
        for rid in rule_ids:
            try:
                cls = get_rule(rid)
            except KeyError:
                continue
            doc = cls.doc()
            body = "".join(f"<p><b>{e(t)}.</b> {e(_section(doc, t))}</p>"
                           for t in ("What it checks", "Why it is denied", "Correct coding", "Source"))
            parts.append(f"<details><summary><code>{e(rid)}</code> {e(cls.summary())}</summary>{body}</details>")
        return "".join(parts)
