"""Current-quarter CMS NCCI tables imported into the database (``dermedi tables import-ncci``).

The shipped dermatology subset (config/tables, 2024-07-01) stays the default; after an import,
``dermedi scrub --ncci-db`` scrubs with the shipped tables overlaid by the imported PTP pairs and
MUE values (imported rows win).  An import of a kind replaces every earlier row of that kind in
one transaction, so a failed import leaves the previous quarter in place.

Accepted files (CSV or tab-separated text, any header/title lines before the column header):

* PTP (practitioner or hospital): columns "Column 1", "Column 2", "Effective Date" (YYYYMMDD),
  "Deletion Date" (YYYYMMDD or ``*``), "Modifier" (0/1/9), optional "PTP Edit Rationale".
* MUE: columns "HCPCS/CPT Code", "... MUE Values", "MUE Adjudication Indicator" (text starting with
  1, 2 or 3, e.g. "2 Date of Service Edit: Policy"), optional "MUE Rationale".
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Date, DateTime, Engine, Integer, String, delete, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from store import Base, session_scope

_CODE = re.compile(r"[0-9A-Z]{5}\Z")


class NcciPtpRow(Base):
    __tablename__ = "ncci_ptp"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    column1: Mapped[str] = mapped_column(String(5), nullable=False, index=True)
    column2: Mapped[str] = mapped_column(String(5), nullable=False)
    modifier_indicator: Mapped[int] = mapped_column(Integer, nullable=False)
    effective_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    effective_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    rationale: Mapped[str] = mapped_column(String(200), nullable=False, default="")


class NcciMueRow(Base):
    __tablename__ = "ncci_mue"

    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    mue_units: Mapped[int] = mapped_column(Integer, nullable=False)
    mai: Mapped[int] = mapped_column(Integer, nullable=False)
    rationale: Mapped[str] = mapped_column(String(200), nullable=False, default="")


class NcciImport(Base):
    __tablename__ = "ncci_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(3), nullable=False)
    file_name: Mapped[str] = mapped_column(String(255), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    rows: Mapped[int] = mapped_column(Integer, nullable=False)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class NcciFileError(ValueError):
    """The file is not a CMS PTP or MUE table we can read (message names file and line)."""


@dataclass(frozen=True)
class ImportResult:
    kind: str
    rows: int
    skipped: int
    sha256: str


def _date(value: str, where: str) -> date | None:
    v = value.strip()
    if not v or v == "*":
        return None
    try:
        if len(v) == 8 and v.isdigit():
            return date(int(v[:4]), int(v[4:6]), int(v[6:]))
        return date.fromisoformat(v)
    except ValueError:
        raise NcciFileError(f"{where}: {v!r} is not a date (YYYYMMDD)") from None


def _rows(path: Path) -> tuple[list[list[str]], str]:
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig", errors="replace")
    sample = "\n".join(text.splitlines()[:50])
    delim = "\t" if sample.count("\t") > sample.count(",") else ","
    return list(csv.reader(io.StringIO(text), delimiter=delim)), hashlib.sha256(raw).hexdigest()


def _norm(cell: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", cell.lower()).strip()


def _find_header(rows: list[list[str]]) -> tuple[str, int, dict[str, int]]:
    for i, row in enumerate(rows[:200]):
        cells = [_norm(c) for c in row]
        if "column 1" in cells and "column 2" in cells:
            idx = {"c1": cells.index("column 1"), "c2": cells.index("column 2")}
            for j, c in enumerate(cells):
                if c.startswith("effective"):
                    idx["eff"] = j
                elif c.startswith("deletion"):
                    idx["del"] = j
                elif c.startswith("modifier"):
                    idx["mod"] = j
                elif "rationale" in c:
                    idx["why"] = j
            missing = {"eff", "del", "mod"} - set(idx)
            if missing:
                raise NcciFileError(f"line {i + 1}: PTP header lacks {', '.join(sorted(missing))} column(s)")
            return "ptp", i, idx
        if any("mue" in c and "value" in c for c in cells) and any(c.startswith("hcpcs") for c in cells):
            idx = {}
            for j, c in enumerate(cells):
                if c.startswith("hcpcs"):
                    idx["code"] = j
                elif "mue" in c and "value" in c:
                    idx["units"] = j
                elif "adjudication" in c:
                    idx["mai"] = j
                elif "rationale" in c:
                    idx["why"] = j
            if "mai" not in idx:
                raise NcciFileError(f"line {i + 1}: MUE header lacks the adjudication indicator column")
            return "mue", i, idx
    raise NcciFileError("no CMS PTP (Column 1 / Column 2) or MUE (HCPCS/CPT Code, MUE Values) header found")


def import_ncci_file(engine: Engine, path: str | Path, kind: str | None = None) -> ImportResult:
    """Load a CMS PTP or MUE file into the database, replacing the previous rows of that kind."""
    p = Path(path)
    try:
        rows, digest = _rows(p)
    except OSError as exc:
        raise NcciFileError(f"{p}: {exc.strerror or exc}") from None
    try:
        found, hdr, idx = _find_header(rows)
    except NcciFileError as exc:
        raise NcciFileError(f"{p}: {exc}") from None
    if kind is not None and kind != found:
        raise NcciFileError(f"{p}: looks like a {found.upper()} file, not {kind.upper()}")
    ptp: list[dict[str, object]] = []
    mue: dict[str, dict[str, object]] = {}
    skipped = 0
    for n, row in enumerate(rows[hdr + 1:], start=hdr + 2):
        if not any(c.strip() for c in row):
            continue
        where = f"{p.name} line {n}"
        try:
            if found == "ptp":
                c1, c2 = row[idx["c1"]].strip().upper(), row[idx["c2"]].strip().upper()
                if not (_CODE.match(c1) and _CODE.match(c2)):
                    skipped += 1
                    continue
                mod = row[idx["mod"]].strip()
                if mod not in ("0", "1", "9"):
                    raise NcciFileError(f"{where}: modifier indicator {mod!r} is not 0, 1 or 9")
                ptp.append({"column1": c1, "column2": c2, "modifier_indicator": int(mod),
                            "effective_from": _date(row[idx["eff"]], where),
                            "effective_to": _date(row[idx["del"]], where),
                            "rationale": row[idx["why"]].strip()[:200] if "why" in idx else ""})
            else:
                code = row[idx["code"]].strip().upper()
                if not _CODE.match(code):
                    skipped += 1
                    continue
                units = row[idx["units"]].strip()
                mai = row[idx["mai"]].strip()[:1]
                if not units.isdigit() or mai not in ("1", "2", "3"):
                    raise NcciFileError(f"{where}: MUE value {units!r} / indicator {mai!r} not understood")
                mue[code] = {"code": code, "mue_units": int(units), "mai": int(mai),
                             "rationale": row[idx["why"]].strip()[:200] if "why" in idx else ""}
        except IndexError:
            raise NcciFileError(f"{where}: too few columns") from None
    count = len(ptp) if found == "ptp" else len(mue)
    if count == 0:
        raise NcciFileError(f"{p}: no {found.upper()} rows")
    with session_scope(engine) as s:
        if found == "ptp":
            s.execute(delete(NcciPtpRow))
            for i in range(0, len(ptp), 5000):
                s.execute(insert(NcciPtpRow), ptp[i:i + 5000])
        else:
            s.execute(delete(NcciMueRow))
            s.execute(insert(NcciMueRow), list(mue.values()))
        s.add(NcciImport(kind=found, file_name=p.name[:255], sha256=digest, rows=count,
                         imported_at=datetime.now(UTC)))
    return ImportResult(found, count, skipped, digest)


def load_tables_with_db(engine: Engine) -> object:
    """The shipped code tables overlaid with the imported PTP pairs and MUE values."""
    from config.tables import MUE, PTPEdit, build_code_tables

    with session_scope(engine) as s:   # rows still in force come last, so they win over deleted ones
        ptp = [PTPEdit.model_construct(column1=r.column1, column2=r.column2, modifier_indicator=r.modifier_indicator,
                                       effective_from=r.effective_from, effective_to=r.effective_to,
                                       rationale=r.rationale)
               for r in s.scalars(select(NcciPtpRow).order_by(NcciPtpRow.effective_to.is_(None), NcciPtpRow.id))]
        mue = [MUE.model_construct(code=r.code, mue_units=r.mue_units, mai=r.mai, rationale=r.rationale)
               for r in s.scalars(select(NcciMueRow))]
    return build_code_tables(extra_ptp=ptp, extra_mue=mue)
