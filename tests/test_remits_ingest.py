"""835 ingest into the worklist, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from dbfixtures import db_url  # noqa: F401
from sqlalchemy import Engine, func, select

from edi.validate import validate_file
from remits import ingest as ingest_mod
from remits.ingest import ingest_835_file, release_quarantined, reversal_pairs
from store import open_database, session_scope
from store.remits import (
    RemitAdjustment,
    RemitClaim,
    RemitFile,
    RemitLine,
    RemitPayment,
    RemitPLB,
    WorkItem,
    WorkItemEvent,
)

DATA = Path(__file__).parent / "data" / "remits"
DENIALS = DATA / "derm_denials.835"
REVERSAL = DATA / "derm_reversal.835"
TODAY = date(2026, 11, 21)

EXPECTED = {
    # (claim, line): (procedure, group-carc, category, action)
    ("DERM001", 1): ("99213", "CO-97", "bundling", "correct_and_resubmit"),
    ("DERM002", 2): ("11105", "CO-234", "bundling", "review"),
    ("DERM003", 1): ("17110", "CO-50", "medical_necessity", "appeal"),
    ("DERM004", 1): ("11102", "CO-16", "submission_error", "correct_and_resubmit"),
    ("DERM005", 1): ("17000", "CO-4", "coding_modifier", "correct_and_resubmit"),
    ("DERM006", 1): ("99214", "CO-29", "timely_filing", "write_off"),
    ("DERM007", 1): ("17311", "CO-197", "authorization", "obtain_authorization"),
    ("DERM008", 1): ("11200", "CO-96", "non_covered", "write_off"),
    ("DERM009", 1): ("11102", "OA-18", "duplicate", "review"),
    ("DERM010", 1): ("11400", "CO-11", "coding_dx", "correct_and_resubmit"),
}


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:  # noqa: F811
    e = open_database(db_url)
    try:
        yield e
    finally:
        e.dispose()


def _counts(engine: Engine) -> dict[str, int]:
    out = {}
    with session_scope(engine) as s:
        for model in (RemitFile, RemitPayment, RemitClaim, RemitLine, RemitAdjustment, RemitPLB, WorkItem,
                      WorkItemEvent):
            out[model.__tablename__] = s.scalar(select(func.count()).select_from(model)) or 0
    return out


def _items(engine: Engine) -> dict[tuple[str, int | None], WorkItem]:
    with session_scope(engine) as s:
        return {(i.claim_id, i.line_number): i for i in s.scalars(select(WorkItem))}


def test_fixtures_are_valid_835() -> None:
    for f in (DENIALS, REVERSAL):
        r = validate_file(f)
        assert r.valid, [x.format() for x in r.findings]


def test_one_item_per_denied_line(engine: Engine) -> None:
    r = ingest_835_file(engine, DENIALS, today=TODAY)
    assert r.status == "ingested" and r.transactions == 2 and r.claims == 13
    items = _items(engine)
    got = {k: (i.procedure, f"{i.group_code}-{i.carc_sent}", i.category, i.action) for k, i in items.items()}
    assert got == EXPECTED
    assert r.items_created == len(EXPECTED)
    # CO-45 / PR-1/2/3 / CO-253 / deactivated CO-42 lines made no item
    for claim in ("DERM011", "DERM012", "DERM020"):
        assert not [k for k in items if k[0] == claim]
    assert ("DERM001", 2) not in items and ("DERM002", 1) not in items
    # a paid claim (CLP02 = 1) still yields its line denial
    em = items[("DERM001", 1)]
    assert em.amount == Decimal("120.00") and em.rarcs == "M15" and em.fix == "add_modifier:25"
    assert em.payer_claim_number == "26110000001" and em.payer_name == "MEDICARE PART B DEMO"
    # CO-16 carries the claim-level MOA MA130 as well as its line RARC
    assert set(items[("DERM004", 1)].rarcs.split(",")) == {"N290", "MA130"}
    # Medicare appeal deadline: remit date + 5 (receipt) + 120; commercial default 180
    assert items[("DERM003", 1)].deadline == date(2027, 3, 25)
    assert items[("DERM007", 1)].deadline == date(2027, 5, 19)
    assert items[("DERM007", 1)].payer_type == "commercial" and items[("DERM003", 1)].payer_type == "medicare"
    assert all(i.status == "new" and i.owner is None for i in items.values())
    # everything classified and stored, including the contractual and patient adjustments
    with session_scope(engine) as s:
        kinds = dict(s.execute(select(RemitAdjustment.kind, func.count()).group_by(RemitAdjustment.kind)).all())
        assert kinds["denial"] == 10 and kinds["patient"] == 6 and kinds["contractual"] == 6
        legacy = s.scalars(select(RemitAdjustment).where(RemitAdjustment.carc == "42")).one()
        assert legacy.carc_routed == "45" and legacy.kind == "contractual"
        plb = s.scalars(select(RemitPLB)).one()
        assert (plb.reason, plb.reference, plb.amount) == ("L6", "DERM001", Decimal("-2.50"))
        pays = {p.trace_number: p for p in s.scalars(select(RemitPayment))}
        assert pays["EFT0001"].total_payment == Decimal("369.26") and pays["EFT0001"].method == "ACH"
        assert pays["CHK7788"].payer_id == "60054"
        # priorities are ordered: dollars x recoverability x urgency
        top = s.scalars(select(WorkItem).order_by(WorkItem.priority.desc())).first()
        assert top is not None and top.claim_id == "DERM007"
        ev = s.scalars(select(WorkItemEvent).where(WorkItemEvent.event == "created")).all()
        assert len(ev) == 10


def test_ingest_is_idempotent(engine: Engine, tmp_path: Path) -> None:
    ingest_835_file(engine, DENIALS, today=TODAY)
    before = _counts(engine)
    again = ingest_835_file(engine, DENIALS, today=TODAY)
    assert again.status == "duplicate" and again.items_created == 0
    assert _counts(engine) == before
    # same payer + TRN02 trace number in a different file (new ISA control number): nothing new
    copy = tmp_path / "resent.835"
    copy.write_bytes(DENIALS.read_bytes().replace(b"000000101", b"000000777"))
    r = ingest_835_file(engine, copy, today=TODAY)
    assert r.status == "duplicate" and r.transactions_skipped == 2
    assert _counts(engine) == before


def _unbalanced(tmp_path: Path, old: bytes, new: bytes, name: str) -> Path:
    data = DENIALS.read_bytes()
    assert data.count(old) == 1
    p = tmp_path / name
    p.write_bytes(data.replace(old, new))
    return p


@pytest.mark.parametrize(("old", "new", "rule"), [
    (b"SVC*HC:11104*200*130**1~", b"SVC*HC:11104*200*131**1~", "service line 1 of claim DERM002"),
    (b"CLP*DERM002*1*300*130*", b"CLP*DERM002*1*300*140*", "claim DERM002"),
    (b"BPR*I*369.26*", b"BPR*I*396.26*", "transaction"),
])
def test_unbalanced_file_is_quarantined(engine: Engine, tmp_path: Path, old: bytes, new: bytes, rule: str) -> None:
    path = _unbalanced(tmp_path, old, new, "bad.835")
    r = ingest_835_file(engine, path, today=TODAY)
    assert r.status == "quarantined" and rule in r.reason and "does not balance" in r.reason
    assert r.findings and {"expected", "actual", "difference"} <= set(r.findings[0])
    c = _counts(engine)
    assert c["remit_files"] == 1 and c["work_items"] == 0 and c["remit_claims"] == 0
    with session_scope(engine) as s:
        f = s.get(RemitFile, r.file_id)
        assert f is not None and f.status == "quarantined" and f.content == path.read_bytes()
    # the same file again: still one quarantine row, still nothing made
    assert ingest_835_file(engine, path, today=TODAY).status == "duplicate"
    assert _counts(engine)["work_items"] == 0
    # a user releases it: now its denials become items
    assert r.file_id is not None
    rel = release_quarantined(engine, r.file_id, user="supervisor", today=TODAY)
    assert rel.status == "released" and rel.items_created == len(EXPECTED)
    with session_scope(engine) as s:
        f = s.get(RemitFile, r.file_id)
        assert f is not None and f.status == "released" and f.released_by == "supervisor"


def test_ingest_is_atomic(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    real = ingest_mod._on_claim
    seen = {"n": 0}

    def crash_on_fifth(ctx: object, c: object) -> None:
        seen["n"] += 1
        if seen["n"] == 5:
            raise RuntimeError("simulated crash mid-file")
        real(ctx, c)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest_mod, "_on_claim", crash_on_fifth)
    with pytest.raises(RuntimeError):
        ingest_835_file(engine, DENIALS, today=TODAY)
    assert all(v == 0 for v in _counts(engine).values())
    monkeypatch.setattr(ingest_mod, "_on_claim", real)
    assert ingest_835_file(engine, DENIALS, today=TODAY).items_created == len(EXPECTED)


def test_reversal_correction_pairing_and_self_closing(engine: Engine) -> None:
    ingest_835_file(engine, DENIALS, today=TODAY)
    r = ingest_835_file(engine, REVERSAL, today=date(2026, 12, 16))
    assert r.reversals == 3 and r.reversals_paired == 2
    assert r.items_created == 0             # reversals never open items
    assert r.items_resolved == 2
    items = _items(engine)
    for key in (("DERM001", 1), ("DERM003", 1)):
        assert items[key].status == "resolved" and items[key].resolved_by_remit_claim_id is not None
    assert {i.status for k, i in items.items() if k not in {("DERM001", 1), ("DERM003", 1)}} == {"new"}
    with session_scope(engine) as s:
        pairs = {(rev.claim_id, corr.claim_id if corr else None, corr.status if corr else None)
                 for rev, corr in reversal_pairs(s)}
        assert pairs == {("DERM001", "DERM001", "1"), ("DERM003", "DERM003", "1"), ("DERM012", None, None)}
        ev = s.scalars(select(WorkItemEvent).where(WorkItemEvent.event == "auto_resolved")).all()
        assert len(ev) == 2 and all(e.to_status == "resolved" for e in ev)


def test_reversal_alone_opens_nothing(engine: Engine, tmp_path: Path) -> None:
    # only the DERM012 reversal of the later remit: a net-negative 835 balanced by a PLB FB
    lines = REVERSAL.read_text().splitlines()
    head = lines[:lines.index("CLP*DERM001*22*-270*-96*-24*MB*26110000001*11*1~")]
    body = lines[lines.index("CLP*DERM012*22*-90*-50.76*-12.94*MB*26110000012*11*1~"):lines.index("SE*52*0001~")]
    body.append("PLB*1234567893*20261231*FB:26110000012*-50.76~")
    seg_count = len(head) - 2 + len(body) + 1
    text = "\n".join(head + body + [f"SE*{seg_count}*0001~", "GE*1*102~", "IEA*1*000000102~"]) + "\n"
    text = text.replace("BPR*I*122.04*C*ACH*CCP*01*011000015*DA*123456789*1512345678**01*011000028*DA*987654321*",
                        "BPR*H*0*C*NON" + "*" * 12).replace("EFT0002", "EFT0003")
    p = tmp_path / "reversal_only.835"
    p.write_text(text)
    assert validate_file(p).valid
    r = ingest_835_file(engine, p, today=TODAY)
    assert r.status == "ingested" and r.reversals == 1 and r.reversals_paired == 0 and r.items_created == 0
    assert _counts(engine)["work_items"] == 0


def test_denied_again_adds_event_not_item(engine: Engine, tmp_path: Path) -> None:
    ingest_835_file(engine, DENIALS, today=TODAY)
    again = DENIALS.read_text().replace("EFT0001", "EFT0009").replace("CHK7788", "CHK7799").replace(
        "000000101", "000000103")
    p = tmp_path / "again.835"
    p.write_text(again)
    r = ingest_835_file(engine, p, today=TODAY)
    assert r.status == "ingested" and r.items_created == 0 and r.items_seen_again == len(EXPECTED)
    assert _counts(engine)["work_items"] == len(EXPECTED)


def test_no_patient_data_copied(engine: Engine) -> None:
    """Patient names and member ids of NM1*QC never reach the remit or worklist tables."""
    ingest_835_file(engine, DENIALS, today=TODAY)
    ingest_835_file(engine, REVERSAL, today=date(2026, 12, 16))
    phi = ("9AA9AA9AA91", "9DD9DD9DD94", "XGG000007", "ALPHA", "CHARLIE", "PATIENT")
    from sqlalchemy import String, Text

    with session_scope(engine) as s:
        for model in (RemitFile, RemitPayment, RemitClaim, RemitLine, RemitAdjustment, RemitPLB, WorkItem,
                      WorkItemEvent):
            cols = [c for c in model.__table__.columns if isinstance(c.type, String | Text)]
            for row in s.execute(select(*cols)).all():
                text = " ".join(str(v) for v in row if v is not None)
                assert not any(p in text for p in phi), (model.__tablename__, text)
