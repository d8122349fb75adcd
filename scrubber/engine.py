"""The scrubber's rule engine (pure: claims in, findings out).

A rule is one class with a stable ``id``, a ``severity`` (``error`` holds the claim,
``warning`` does not), the CARC it prevents and a ruff-style docstring with the sections
"What it checks", "Why it is denied", "Example", "Correct coding" and "Source".  Rules live in
``scrubber/rules/`` (one module per rule or small family); :func:`all_rules` imports them all and
registers every ``Rule`` subclass defined there that has an ``id`` (no class decorator: the
compiled build needs the rule classes to stay native classes, see docs/performance.md).  Each
rule has a YAML file of passing and failing cases in ``tests/fixtures/rules/<ID>.yml``.

Rule id families: ``VAL`` validity (codes, ICD-10-CM, pointers, charges, NPI/EIN, dates),
``UNT`` units/MUE/add-ons, ``BX`` biopsy, ``DES`` destruction, ``EXC`` excision/shave/site,
``REP`` repairs, ``MOH`` Mohs, ``NCCI`` procedure-to-procedure edits, ``EM`` E/M and modifiers,
``MOD`` modifier validity, ``DRG`` drugs/NDC/JW/JZ, ``CMP`` claim completeness (units, frequency,
ABN/cosmetic modifiers), ``LCD`` Medicare medical necessity by MAC (local coverage determinations),
``LRN`` payer-learned edits (from the learned table).

One root cause, one finding: when a claim's diagnoses are unusable (VAL012: ICD-9-CM qualifiers, no
principal ICD-10-CM diagnosis), the findings that follow from it (VAL020: pointers that now point at
nothing) are folded under the root finding (:attr:`ScrubFinding.dependents`); the claim stays held.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from edi.x837 import Claim, ServiceLine

if TYPE_CHECKING:
    from config.coverage import CoverageTables
    from config.drugs import DrugTables
    from config.learned import LearnedTable
    from config.payers import PayerProfile
    from config.tables import CodeTables

Severity = Literal["error", "warning"]


@dataclass(slots=True)
class ScrubFinding:
    """One finding on one claim."""

    rule: str
    severity: Severity
    claim_id: str
    message: str
    line: str | None = None                 # LX number of the line the finding is about
    lines: tuple[str, ...] = ()             # every line involved (LX numbers)
    carc: str | None = None                 # the CARC this rule prevents
    correct_coding: str | None = None       # what to bill instead, where it can be said
    dependents: tuple[ScrubFinding, ...] = ()   # findings caused by this one (folded under it)

    def as_dict(self) -> dict[str, Any]:
        out = self._dict()
        if self.dependents:
            out["dependent_findings"] = [d._dict() for d in self.dependents]
        return out

    def _dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "line": int(self.line) if self.line and self.line.isdigit() else self.line,
            "lines": [int(x) if x.isdigit() else x for x in self.lines],
            "message": self.message,
            "carc": self.carc,
            "correct_coding": self.correct_coding,
        }


class ClaimContext:
    """Everything a rule may look at for one claim; derived indexes are computed once, on first use.

    ``extra`` is a per-claim cache for helpers shared by several rules (see ``scrubber/rules/_common.py``).
    ``learned`` is the payer-learned table (configuration, see :mod:`config.learned`), or None.
    """

    def __init__(self, claim: Claim, payer: PayerProfile, tables: CodeTables, drugs: DrugTables, today: date,
                 file_date: date | None = None, extra: dict[str, Any] | None = None,
                 coverage: CoverageTables | None = None, learned: LearnedTable | None = None) -> None:
        self.claim = claim
        self.coverage = coverage
        self.payer = payer
        self.tables = tables
        self.drugs = drugs
        self.today = today
        self.file_date = file_date
        self.extra: dict[str, Any] = extra if extra is not None else {}
        self.learned = learned
        self.lines: list[ServiceLine] = claim.lines
        self._codes: set[str] | None = None
        self._lines_by_code: dict[str, list[ServiceLine]] | None = None
        self._lines_by_date: dict[date | None, list[ServiceLine]] | None = None
        self._claim_date_known = False
        self._claim_date_value: date | None = None
        self._diagnosis_codes: list[str] | None = None

    @property
    def codes(self) -> set[str]:
        """The procedure codes the claim bills."""
        codes = self._codes
        if codes is None:
            codes = self._codes = {ln.code for ln in self.claim.lines}
        return codes

    @property
    def lines_by_code(self) -> dict[str, list[ServiceLine]]:
        out = self._lines_by_code
        if out is None:
            out = {}
            for ln in self.claim.lines:
                out.setdefault(ln.code, []).append(ln)
            self._lines_by_code = out
        return out

    @property
    def lines_by_date(self) -> dict[date | None, list[ServiceLine]]:
        """Lines grouped by date of service (DTP*472, else the claim's statement date)."""
        out = self._lines_by_date
        if out is None:
            out = {}
            for ln in self.claim.lines:
                out.setdefault(self.line_date(ln), []).append(ln)
            self._lines_by_date = out
        return out

    def line_date(self, line: ServiceLine) -> date | None:
        return line.service_date or self._claim_date

    @property
    def _claim_date(self) -> date | None:
        if not self._claim_date_known:
            self._claim_date_value = self.claim.date("431") or self.claim.date("472")
            self._claim_date_known = True
        return self._claim_date_value

    @property
    def diagnosis_codes(self) -> list[str]:
        """The claim's dotted ICD-10-CM codes (computed once)."""
        dx = self._diagnosis_codes
        if dx is None:
            dx = self._diagnosis_codes = self.claim.diagnosis_codes
        return dx

    def line_diagnoses(self, line: ServiceLine) -> list[str]:
        """Dotted ICD-10-CM codes the line points at (SV107 pointers), in pointer order."""
        dx = self.diagnosis_codes
        return [dx[p - 1] for p in line.pointers if 0 < p <= len(dx)]

    def units(self, line: ServiceLine) -> int:
        """Whole units of a line (0 when missing)."""
        return int(line.units) if line.units is not None else 0

    @property
    def is_medicare(self) -> bool:
        return self.payer.payer_type == "medicare"

    @property
    def is_medicaid(self) -> bool:
        return self.payer.payer_type == "medicaid"


class Rule:
    """Base class of every scrubber rule.  Subclasses set the class attributes and
    implement :meth:`check`; the docstring is the rule's documentation."""

    id: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity] = "error"
    carc: ClassVar[str | None] = None
    family: ClassVar[str] = ""
    # Optional fast paths: when set, the rule only runs on claims billing at least one of these codes
    # (``triggers``) / carrying at least one of these modifiers (``modifier_triggers``).
    triggers: ClassVar[frozenset[str] | None] = None
    modifier_triggers: ClassVar[frozenset[str] | None] = None

    def check(self, ctx: ClaimContext) -> Iterable[ScrubFinding]:
        raise NotImplementedError

    def finding(self, ctx: ClaimContext, message: str, *, line: ServiceLine | None = None,
                lines: Iterable[ServiceLine] = (), correct: str | None = None,
                severity: Severity | None = None, carc: str | None = None) -> ScrubFinding:
        involved = tuple(ln.number for ln in lines)
        if line is not None and line.number not in involved:
            involved = (line.number, *involved)
        return ScrubFinding(
            rule=self.id,
            severity=severity or self.severity,
            claim_id=ctx.claim.claim_id,
            message=message,
            line=line.number if line is not None else (involved[0] if involved else None),
            lines=involved,
            carc=carc if carc is not None else self.carc,
            correct_coding=correct,
        )

    @classmethod
    def doc(cls) -> str:
        """The rule's docstring, dedented.  Compiled (mypyc) classes carry no ``__doc__``: their
        docstring is then read from the module's ``.py`` source, which ships beside it."""
        import inspect

        text = getattr(cls, "__doc__", None) or _source_docstrings(getattr(cls, "__module__", "")).get(cls.__name__, "")
        return inspect.cleandoc(text)

    @classmethod
    def summary(cls) -> str:
        return cls.doc().split("\n", 1)[0]


_DOCSTRINGS: dict[str, dict[str, str]] = {}


def _source_docstrings(module: str) -> dict[str, str]:
    """Class name -> docstring of the top-level classes in ``module``'s source file."""
    hit = _DOCSTRINGS.get(module)
    if hit is None:
        import ast
        import sys
        from pathlib import Path

        hit = {}
        path = Path(str(getattr(sys.modules.get(module), "__file__", "") or ""))
        source = path.with_name(path.name.split(".", 1)[0] + ".py")
        if source.is_file():
            tree = ast.parse(source.read_text(encoding="utf-8"))
            for node in tree.body:
                if isinstance(node, ast.ClassDef):
                    hit[node.name] = ast.get_docstring(node, clean=False) or ""
        _DOCSTRINGS[module] = hit
    return hit


_REGISTRY: dict[str, type[Rule]] = {}


def register(cls: type[Rule]) -> type[Rule]:
    """Add a rule to the registry (ids must be unique); :func:`all_rules` calls it for every rule."""
    rid = cls.id
    if rid in _REGISTRY and _REGISTRY[rid] is not cls:
        raise ValueError(f"duplicate rule id {rid}")
    for attr in ("id", "name", "severity"):
        if not getattr(cls, attr, None):
            raise ValueError(f"rule {cls.__name__} lacks {attr}")
    _REGISTRY[rid] = cls
    return cls


def _import_rules() -> None:
    import scrubber.rules as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"scrubber.rules.{mod.name}")
    # every concrete rule (a subclass with an id) defined in scrubber/rules is registered
    todo = list(Rule.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if getattr(cls, "id", None) and getattr(cls, "__module__", "").startswith("scrubber.rules."):
            register(cls)


def all_rules() -> list[type[Rule]]:
    """Every registered rule class, sorted by id."""
    _import_rules()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def get_rule(rule_id: str) -> type[Rule]:
    _import_rules()
    try:
        return _REGISTRY[rule_id.upper()]
    except KeyError:
        raise KeyError(f"no rule {rule_id!r}") from None


# root finding -> the rules whose findings it causes (folded under it by fold_dependents)
_ROOTS: dict[str, frozenset[str]] = {"VAL012": frozenset({"VAL020"})}


def fold_dependents(findings: list[ScrubFinding]) -> list[ScrubFinding]:
    """Move the findings a root finding causes under it (one root cause, one finding): a claim whose
    diagnoses are unusable (VAL012) reports its pointer findings (VAL020), and VAL012's own second
    finding, as dependents of the first VAL012 finding."""
    root: ScrubFinding | None = None
    for f in findings:
        if f.rule in _ROOTS and f.severity == "error":
            root = f
            break
    if root is None:
        return findings
    caused = _ROOTS[root.rule] | {root.rule}         # e.g. "ICD-9 qualifiers" also means "no ICD-10 principal"
    dependents = tuple(f for f in findings if f is not root and f.rule in caused)
    if not dependents:
        return findings
    out = [f for f in findings if f is root or f.rule not in caused]
    root.dependents = root.dependents + dependents
    return out


@dataclass(slots=True)
class ClaimResult:
    claim: Claim
    findings: list[ScrubFinding]

    @property
    def held(self) -> bool:
        for f in self.findings:
            if f.severity == "error":
                return True
        return False

    @property
    def status(self) -> str:
        return "held" if self.held else "clean"


class Scrubber:
    """Runs every rule on every claim.  Tables and payer profiles are loaded once; ``learned`` is the
    payer-learned table (rule LRN001), loaded by the caller from configuration, or None."""

    def __init__(self, *, tables: CodeTables | None = None, drugs: DrugTables | None = None,
                 payers: Any = None, rules: Iterable[type[Rule]] | None = None,
                 today: date | None = None, coverage: CoverageTables | None = None,
                 learned: LearnedTable | None = None) -> None:
        if tables is None:
            from config.tables import load_code_tables

            tables = load_code_tables()
        if drugs is None:
            from config.drugs import load_drug_tables

            drugs = load_drug_tables()
        if payers is None:
            from config.payers import load_payer_profiles

            payers = load_payer_profiles()
        if coverage is None:
            from config.coverage import load_coverage_tables

            coverage = load_coverage_tables()
        self.tables = tables
        self.drugs = drugs
        self.payers = payers
        self.coverage = coverage
        self.learned = learned
        self.rules = [r() for r in (rules if rules is not None else all_rules())]
        self.today = today or date.today()
        self._plans: dict[frozenset[str], tuple[tuple[Rule, frozenset[str] | None], ...]] = {}
        self._plan_rules: list[Rule] | None = None
        # the payer profile of the last subscriber loop (2000B): claims of one subscriber share it
        self._payer_node: object = None
        self._payer_source: object = None
        self._payer_profile: PayerProfile | None = None
        self._payer_memo: dict[tuple[str, str], PayerProfile] = {}
        self._file_date_header: object = None
        self._file_date: date | None = None

    def _plan(self, codes: frozenset[str]) -> tuple[tuple[Rule, frozenset[str] | None], ...]:
        """The rules (with their modifier triggers, in rule order) whose code triggers a claim billing
        ``codes`` meets; memoized per code set, rebuilt when :attr:`rules` is replaced.  The rule objects
        themselves, not bound ``check`` methods: in the compiled build ``rule.check(ctx)`` is then a
        native method call instead of a Python-level one."""
        if self._plan_rules is not self.rules or len(self._plans) > 20_000:
            self._plans, self._plan_rules = {}, self.rules
        plan = tuple((rule, rule.modifier_triggers) for rule in self.rules
                     if rule.triggers is None or not rule.triggers.isdisjoint(codes))
        self._plans[codes] = plan
        return plan

    def context(self, claim: Claim) -> ClaimContext:
        node = claim.subscriber
        payer = self._payer_profile
        if node is None or node is not self._payer_node or payer is None or self._payer_source is not self.payers:
            if self._payer_source is not self.payers:
                self._payer_memo = {}
            # profiles by (payer id, SBR09), as PayerProfiles.for_payer memoizes them, without its Python call
            key = (claim.payer_id, claim.claim_filing_indicator)
            payer = self._payer_memo.get(key)
            if payer is None:
                payer = self.payers.for_claim(claim)
                if len(self._payer_memo) < 10_000:
                    self._payer_memo[key] = payer
            self._payer_node, self._payer_source, self._payer_profile = node, self.payers, payer
        header = claim.header
        if header is not self._file_date_header:        # BHT04 of the transaction set, parsed once
            self._file_date, self._file_date_header = header.file_date, header
        return ClaimContext(claim, payer, self.tables, self.drugs, self.today, self._file_date, None, self.coverage,
                            self.learned)

    def scrub(self, claim: Claim) -> ClaimResult:
        ctx = self.context(claim)
        findings: list[ScrubFinding] = []
        for p in claim.problems:
            findings.append(ScrubFinding(rule="X12", severity="error", claim_id=claim.claim_id,
                                         message=f"segment {p.segment_number} {p.element}: {p.message}",
                                         carc="16"))
        codes = frozenset(ctx.codes)
        plan = self._plans.get(codes) if self._plan_rules is self.rules else None
        if plan is None:
            plan = self._plan(codes)
        mods: frozenset[str] | None = None
        for rule, mtrig in plan:
            if mtrig is not None:
                if mods is None:
                    mods = frozenset(m for ln in claim.lines for m in ln.modifiers)
                if mtrig.isdisjoint(mods):
                    continue
            found = rule.check(ctx)
            if found:
                findings.extend(found)
        if len(findings) > 1:
            for f in findings:
                if f.rule in _ROOTS:
                    findings = fold_dependents(findings)
                    break
        return ClaimResult(claim, findings)

    def scrub_all(self, claims: Iterable[Claim]) -> Iterator[ClaimResult]:
        for claim in claims:
            yield self.scrub(claim)
