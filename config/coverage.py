"""Medicare Part B coverage tables: MAC by state, the dermatology LCDs of each MAC, the benign-lesion
diagnosis mapping, and (when a user loaded it) the CMS Medicare Coverage Database article download.

Shipped tables (``config/tables/``, sources and dates in their ``#`` headers and ``SOURCES.md``):

* ``mac_jurisdictions.csv``  state -> A/B MAC and jurisdiction.
* ``lcd_derm.csv``           the benign-lesion and Mohs (AUC) LCDs per MAC, with the CPT codes of their
  Billing & Coding articles.
* ``lcd_benign_dx.csv``      ICD-10-CM prefixes that are benign lesions in an LCD's scope or code a
  covered indication (our mapping of the LCD texts: UNCONFIRMED, rules using it only warn).

The MCD article download (``current_article_csv.zip`` from cms.gov) is turned into a table file by
:func:`import_mcd_zip` (``dermedi tables import-mcd``); its covered / non-covered ICD-10 lists then
replace the indication mapping for the articles it contains.  Columns relied on:

* ``article_x_hcpc_code.csv``: ``article_id``, ``hcpc_code_id``;
* ``article_x_icd10_covered.csv``: ``article_id``, ``icd10_code_id``, ``icd10_covered_group``;
* ``article_x_icd10_noncovered.csv``: ``article_id``, ``icd10_code_id``;
* optional ``article.csv``: ``article_id``, ``article_version``, ``title``; optional
  ``article_related_documents.csv``: ``article_id``, ``r_lcd_id`` (to find an LCD's article when its
  article id is not the one in ``lcd_derm.csv``).

Everything is loaded once and answered from dicts and frozensets (per-claim lookups are O(1)).
"""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

TABLES_DIR = Path(__file__).parent / "tables"
MCD_FORMAT = 1
MCD_FILE_NAME = "mcd_articles.json"


class CoverageError(ValueError):
    """A coverage table or an MCD download is missing or invalid."""


@dataclass(frozen=True, slots=True)
class Lcd:
    """One LCD of one MAC, as far as the scrubber uses it."""

    lcd_id: str
    mac: str
    kind: str                      # "benign" | "mohs_auc"
    article_id: str
    article_confirmed: bool
    codes: frozenset[str]
    revision_effective: str
    note: str
    status: str = "confirmed"       # "unconfirmed": the LCD's contractor or code list was not seen


@dataclass(frozen=True, slots=True)
class McdArticle:
    """The codes of one Billing & Coding article from the CMS MCD download."""

    article_id: str
    version: str
    title: str
    hcpcs: frozenset[str]
    covered: frozenset[str]        # ICD-10-CM codes, without the dot
    noncovered: frozenset[str]
    lcds: frozenset[str] = frozenset()   # related LCD ids ("L34200")

    def covers(self, icd_dotted: str) -> bool | None:
        """True / False when the article lists the code as covered / non-covered, None otherwise."""
        code = icd_dotted.replace(".", "")
        if code in self.noncovered:
            return False
        if code in self.covered:
            return True
        return None


@dataclass(slots=True)
class CoverageTables:
    """MAC routing, LCDs and diagnosis roles; answers are memoized per (LCD, diagnosis)."""

    mac_by_state: dict[str, str]
    lcds: dict[tuple[str, str], Lcd]                       # (MAC, kind) -> LCD
    dx_rules: dict[str, tuple[tuple[str, str], ...]]       # LCD id -> ((prefix, role), ...) longest first
    articles: dict[str, McdArticle] = field(default_factory=dict)   # article id -> MCD codes
    sources: dict[str, str] = field(default_factory=dict)
    _roles: dict[tuple[str, str], str] = field(default_factory=dict)
    _article_of: dict[str, McdArticle | None] = field(default_factory=dict)

    def mac(self, state: str) -> str:
        """The A/B MAC of a state (postal code), or "" when unknown."""
        return self.mac_by_state.get(state.upper(), "")

    def lcd(self, mac: str, kind: str) -> Lcd | None:
        return self.lcds.get((mac, kind))

    def dx_role(self, lcd_id: str, icd: str) -> str:
        """"benign", "indication" or "" (outside the LCD's scope) for a dotted ICD-10-CM code."""
        key = (lcd_id, icd)
        hit = self._roles.get(key)
        if hit is None:
            hit = ""
            for prefix, role in self.dx_rules.get(lcd_id, ()):
                if icd.startswith(prefix):
                    hit = role
                    break
            if len(self._roles) < 100_000:
                self._roles[key] = hit
        return hit

    def article(self, lcd: Lcd) -> McdArticle | None:
        """The loaded MCD article of an LCD (by its article id, else by the article's related LCD)."""
        if lcd.lcd_id in self._article_of:
            return self._article_of[lcd.lcd_id]
        hit = self.articles.get(lcd.article_id) if lcd.article_id else None
        if hit is None:
            for art in self.articles.values():
                if lcd.lcd_id in art.lcds:
                    hit = art
                    break
        self._article_of[lcd.lcd_id] = hit
        return hit


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        yield from csv.DictReader(line for line in fh if not line.startswith("#"))


def _header(path: Path) -> str:
    lines = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            lines.append(line.lstrip("# ").rstrip())
    return " ".join(lines)


def build_coverage_tables(directory: str | Path | None = None, mcd_file: str | Path | None = None) -> CoverageTables:
    """The shipped coverage tables (or those in ``directory``), plus an imported MCD table file."""
    d = Path(directory) if directory else TABLES_DIR
    files = {"mac": d / "mac_jurisdictions.csv", "lcd": d / "lcd_derm.csv", "dx": d / "lcd_benign_dx.csv"}
    try:
        macs = {r["state"].strip().upper(): r["mac"].strip() for r in _rows(files["mac"])}
        lcds: dict[tuple[str, str], Lcd] = {}
        for r in _rows(files["lcd"]):
            kind = r["kind"].strip()
            if kind not in ("benign", "mohs_auc"):
                raise CoverageError(f"{files['lcd']}: {r['lcd_id']}: kind {kind!r} is not benign or mohs_auc")
            lcd = Lcd(r["lcd_id"].strip(), r["mac"].strip(), kind, r["article_id"].strip(),
                      r["article_status"].strip() == "confirmed", frozenset(r["codes"].split()),
                      r["revision_effective"].strip(), r["note"].strip(), r["status"].strip())
            lcds[(lcd.mac, kind)] = lcd
        benign_ids = [lc.lcd_id for lc in lcds.values() if lc.kind == "benign"]
        rules: dict[str, list[tuple[str, str]]] = {i: [] for i in benign_ids}
        for r in _rows(files["dx"]):
            role = r["role"].strip()
            if role not in ("benign", "indication"):
                raise CoverageError(f"{files['dx']}: {r['icd10_prefix']}: role {role!r} is not benign or indication")
            targets = benign_ids if r["lcds"].strip() == "all" else r["lcds"].split()
            for t in targets:
                if t not in rules:
                    raise CoverageError(f"{files['dx']}: {r['icd10_prefix']}: {t} is not a benign-lesion LCD")
                rules[t].append((r["icd10_prefix"].strip().upper(), role))
    except (KeyError, OSError) as exc:
        raise CoverageError(f"coverage table in {d}: {exc}") from None
    dx_rules = {k: tuple(sorted(v, key=lambda pr: -len(pr[0]))) for k, v in rules.items()}
    tables = CoverageTables(macs, lcds, dx_rules, sources={k: _header(p) for k, p in files.items()})
    if mcd_file is not None:
        tables.articles = read_mcd_table(mcd_file)
        tables.sources["mcd"] = str(mcd_file)
    return tables


@cache
def load_coverage_tables(mcd_file: str | None = None) -> CoverageTables:
    """The shipped coverage tables (cached per process), with an MCD table file when given."""
    return build_coverage_tables(None, mcd_file)


# ---- CMS MCD article download ----------------------------------------------------------------------

_NEEDED = ("article_x_hcpc_code.csv", "article_x_icd10_covered.csv")
_OPTIONAL = ("article_x_icd10_noncovered.csv", "article.csv", "article_related_documents.csv")


def _members(zf: zipfile.ZipFile) -> dict[str, bytes]:
    """The CSV members we use, by base name; nested zips (CMS ships a zip inside the zip) are opened."""
    out: dict[str, bytes] = {}
    wanted = {*_NEEDED, *_OPTIONAL}
    for info in zf.infolist():
        base = info.filename.rsplit("/", 1)[-1].lower()
        if base.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(zf.read(info))) as inner:
                for k, v in _members(inner).items():
                    out.setdefault(k, v)
        elif base in wanted:
            out.setdefault(base, zf.read(info))
    return out


def _csv_rows(data: bytes, name: str, columns: Iterable[str]) -> Iterator[dict[str, str]]:
    text = data.decode("utf-8-sig", errors="replace")
    reader = csv.DictReader(io.StringIO(text))
    have = {c.strip().lower() for c in reader.fieldnames or ()}
    missing = [c for c in columns if c not in have]
    if missing:
        raise CoverageError(f"{name}: column(s) {', '.join(missing)} missing (an MCD article download is expected)")
    for row in reader:
        yield {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}


def import_mcd_zip(path: str | os.PathLike[str], lcds: Iterable[Lcd] | None = None) -> dict[str, McdArticle]:
    """The articles of a CMS MCD article download that belong to the shipped LCDs (by article id or by
    the article's related LCD); raises :class:`CoverageError` for a file that is not such a download."""
    p = Path(path)
    try:
        with zipfile.ZipFile(p) as zf:
            members = _members(zf)
    except (OSError, zipfile.BadZipFile) as exc:
        raise CoverageError(f"{p.name}: not a readable zip file ({exc})") from None
    for need in _NEEDED:
        if need not in members:
            raise CoverageError(f"{p.name}: {need} not found (an MCD article download, e.g. current_article_csv.zip, "
                                "is expected)")
    if lcds is None:
        lcds = load_coverage_tables().lcds.values()
    lcd_list = list(lcds)
    by_lcd_number = {lc.lcd_id.lstrip("L"): lc.lcd_id for lc in lcd_list}
    wanted = {lc.article_id: {lc.lcd_id} for lc in lcd_list if lc.article_id}
    related: dict[str, set[str]] = {}
    if "article_related_documents.csv" in members:
        for r in _csv_rows(members["article_related_documents.csv"], "article_related_documents.csv",
                           ("article_id", "r_lcd_id")):
            lcd_id = by_lcd_number.get(r["r_lcd_id"].lstrip("L"))
            if lcd_id is not None:
                related.setdefault(_article_id(r["article_id"]), set()).add(lcd_id)
    for aid, ids in related.items():
        wanted.setdefault(aid, set()).update(ids)
    hcpcs: dict[str, set[str]] = {}
    for r in _csv_rows(members["article_x_hcpc_code.csv"], "article_x_hcpc_code.csv", ("article_id", "hcpc_code_id")):
        aid = _article_id(r["article_id"])
        if aid in wanted and r["hcpc_code_id"]:
            hcpcs.setdefault(aid, set()).add(r["hcpc_code_id"].upper())
    covered: dict[str, set[str]] = {}
    for r in _csv_rows(members["article_x_icd10_covered.csv"], "article_x_icd10_covered.csv",
                       ("article_id", "icd10_code_id", "icd10_covered_group")):
        aid = _article_id(r["article_id"])
        if aid in wanted and r["icd10_code_id"]:
            covered.setdefault(aid, set()).add(r["icd10_code_id"].replace(".", "").upper())
    noncovered: dict[str, set[str]] = {}
    if "article_x_icd10_noncovered.csv" in members:
        for r in _csv_rows(members["article_x_icd10_noncovered.csv"], "article_x_icd10_noncovered.csv",
                           ("article_id", "icd10_code_id")):
            aid = _article_id(r["article_id"])
            if aid in wanted and r["icd10_code_id"]:
                noncovered.setdefault(aid, set()).add(r["icd10_code_id"].replace(".", "").upper())
    titles: dict[str, tuple[str, str]] = {}
    if "article.csv" in members:
        for r in _csv_rows(members["article.csv"], "article.csv", ("article_id",)):
            aid = _article_id(r["article_id"])
            if aid in wanted:
                titles[aid] = (r.get("article_version", ""), r.get("title", ""))
    out: dict[str, McdArticle] = {}
    for aid in sorted(set(hcpcs) | set(covered) | set(noncovered)):
        version, title = titles.get(aid, ("", ""))
        out[aid] = McdArticle(aid, version, title, frozenset(hcpcs.get(aid, ())), frozenset(covered.get(aid, ())),
                              frozenset(noncovered.get(aid, ())), frozenset(wanted.get(aid, ())))
    return out


def _article_id(raw: str) -> str:
    """MCD files give article ids as numbers (57162); the LCD table writes them A57162."""
    raw = raw.strip().upper()
    return raw if raw.startswith("A") else f"A{raw}"


def write_mcd_table(articles: Mapping[str, McdArticle], out: str | os.PathLike[str], source: str) -> Path:
    """Write the imported articles as a JSON table file (0600, folder 0700)."""
    p = Path(out)
    p.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
    body = {"format": MCD_FORMAT, "source": source, "articles": {
        aid: {"version": a.version, "title": a.title, "lcds": sorted(a.lcds), "hcpcs": sorted(a.hcpcs),
              "covered": sorted(a.covered), "noncovered": sorted(a.noncovered)} for aid, a in articles.items()}}
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(body, fh, indent=1)
    return p


def read_mcd_table(path: str | os.PathLike[str]) -> dict[str, McdArticle]:
    """The articles of a table file written by :func:`write_mcd_table`."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("format") != MCD_FORMAT:
            raise CoverageError(f"{path}: not an MCD table file of format {MCD_FORMAT} (import it again)")
        return {aid: McdArticle(aid, str(a.get("version", "")), str(a.get("title", "")), frozenset(a["hcpcs"]),
                                frozenset(a["covered"]), frozenset(a.get("noncovered", ())),
                                frozenset(a.get("lcds", ())))
                for aid, a in data["articles"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        if isinstance(exc, CoverageError):
            raise
        raise CoverageError(f"{path}: unreadable MCD table file ({exc.__class__.__name__})") from None


def coverage_for_data_dir(data_dir: str | os.PathLike[str]) -> CoverageTables:
    """The coverage tables with the MCD table file of ``data_dir`` when one was imported (reloaded when
    the file changes), else the shipped ones."""
    path = default_mcd_path(data_dir)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return load_coverage_tables()
    return _with_mcd(str(path), stamp)


@cache
def _with_mcd(path: str, stamp: int) -> CoverageTables:
    return build_coverage_tables(None, path)


def default_mcd_path(data_dir: str | os.PathLike[str]) -> Path:
    """Where ``dermedi tables import-mcd`` writes (and ``dermedi scrub`` reads) the MCD table file."""
    return Path(data_dir) / "tables" / MCD_FILE_NAME
