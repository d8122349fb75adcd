"""The claim as sent, read back from ``submitted_claims.x12`` for the item page.

:func:`claim_as_sent` returns a plain dict: the patient's and subscriber's name, birth date and
member id (PHI: the caller shows it to an authorized user and audits the view, never logs it),
the diagnoses and every service line (codes, modifiers, units, charge, pointers, NDC).
"""

from __future__ import annotations

from typing import Any

from edi.x837 import Claim, HLNode, Parser837
from store.remits import SubmittedClaim


def _person(node: HLNode | None, nm101: str) -> dict[str, str]:
    if node is None:
        return {}
    nm1 = node.find("NM1", nm101)
    dmg = node.find("DMG")
    if nm1 is None:
        return {}
    name = " ".join(p for p in (nm1.get(4), nm1.get(5), nm1.get(3)) if p)
    dob = dmg.get(2) if dmg is not None else ""
    if len(dob) == 8:
        dob = f"{dob[:4]}-{dob[4:6]}-{dob[6:]}"
    return {"name": name, "last_name": nm1.get(3), "first_name": nm1.get(4), "member_id": nm1.get(9),
            "birth_date": dob, "sex": dmg.get(3) if dmg is not None else ""}


def parse_submitted(sub: SubmittedClaim) -> Claim | None:
    parser = Parser837(sub.x12.encode("latin-1"), f"submitted claim {sub.claim_id}")
    return next((c for c in parser.claims() if c.claim_id == sub.claim_id), None)


def claim_as_sent(sub: SubmittedClaim) -> dict[str, Any] | None:
    claim = parse_submitted(sub)
    if claim is None:
        return None
    subscriber = _person(claim.subscriber, "IL")
    patient = _person(claim.patient, "QC") if claim.patient is not None else {}
    dx = claim.diagnosis_codes
    lines = []
    for ln in claim.lines:
        lines.append({
            "number": ln.number, "qualifier": ln.qualifier, "code": ln.code, "modifiers": list(ln.modifiers),
            "units": str(ln.units) if ln.units is not None else "", "unit_basis": ln.unit_basis,
            "charge": str(ln.charge) if ln.charge is not None else "",
            "service_date": ln.service_date.isoformat() if ln.service_date else "",
            "place_of_service": ln.place_of_service, "pointers": list(ln.pointers),
            "diagnoses": [dx[p - 1] for p in ln.pointers if 0 < p <= len(dx)],
            "ndc": ln.ndc, "ndc_quantity": str(ln.ctp_quantity) if ln.ctp_quantity is not None else "",
            "ndc_unit": ln.ctp_unit,
        })
    return {
        "claim_id": claim.claim_id,
        "submitted_at": sub.submitted_at.isoformat(),
        "file_sha256": sub.file_sha256,
        "total_charge": str(claim.total_charge) if claim.total_charge is not None else "",
        "frequency_code": claim.frequency_code,
        "place_of_service": claim.place_of_service,
        "payer_name": claim.payer_name,
        "payer_id": claim.payer_id,
        "billing_npi": claim.billing_npi,
        "rendering_npi": claim.rendering_npi,
        "subscriber": subscriber,
        "patient": patient or subscriber,
        "diagnoses": dx,
        "lines": lines,
        "prior_auth": claim.ref("G1"),
    }


def names_match(sub: SubmittedClaim, term: str) -> bool:
    """Whether ``term`` (any case) is part of the patient's or subscriber's name on the claim."""
    data = claim_as_sent(sub)
    if data is None:
        return False
    t = term.strip().upper()
    return any(t in str(p.get("name", "")).upper() for p in (data["patient"], data["subscriber"]))


__all__ = ["claim_as_sent", "names_match", "parse_submitted"]
