"""``dermedi validate`` and ``dermedi parse``.

validate FILE... [--ack PATH]
    Validates each 837P (005010X222A1) or 835 (005010X221A1) file against pyx12's 5010
    maps plus dermedi's envelope checks (and the 835 balancing rules).  Findings go to stdout, one per line
    (``file: segment N, CLM05-1: message``), then one summary line per file.  A file
    that cannot be read prints ONE line on stderr (file, segment number, segment id,
    element) and the others are still checked.
    Exit: 0 all valid, 1 findings in some file, 2 some file unreadable / not X12 /
    not 837P or 835, or a usage error.

    ``--ack PATH`` writes the 999 acknowledgment (mode 0600) of each 837P input.  With
    one input, PATH is the 999 file (or, if PATH is an existing directory,
    ``PATH/<input name>.999``).  With several inputs, PATH is a directory (created 0700
    if missing) and each 999 is ``PATH/<input file name>.999``.  No 999 is written for an
    unreadable input or for an 835.

parse FILE --format json|summary|x12 [-o OUT]
    ``summary``: counts and totals (streaming).  ``json``: one JSON object per line per
    claim (837P) or per remitted claim (835), without PHI.  ``x12``: the file written
    back from the parsed models, byte for byte.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from dermedi.cli.app import app
from dermedi.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FINDINGS,
    EXIT_OK,
    fail,
    private_open,
    stdout_bytes,
    x12_errors,
)
from edi.errors import X12Error
from edi.reader import Delimiters, Segment

# -------------------------------------------------------------------------------------------
# helpers
# -------------------------------------------------------------------------------------------


def _echo_err(message: str) -> None:
    typer.echo(f"dermedi: {message}", err=True)


@contextmanager
def _input_errors(path: str) -> Iterator[None]:
    """Every input problem becomes one line on stderr and exit code 2; never a traceback.
    X12 errors go through dermedi.cli.common.x12_errors; OS errors and anything a library
    raises are turned into the same one line."""
    try:
        with x12_errors():
            try:
                yield
            except X12Error as exc:
                raise exc.with_file(path) from None
    except typer.Exit:
        raise
    except BrokenPipeError:
        # the reader of our output went away (e.g. `| head`): not an input problem
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(EXIT_OK) from None
    except OSError as exc:
        fail(f"{path}: {exc.strerror or type(exc).__name__}", EXIT_BAD_INPUT)
    except Exception as exc:  # a bug or a library failure: say so on one line, no values
        fail(f"{path}: internal error ({type(exc).__name__}) while reading the file", EXIT_BAD_INPUT)


def _one_line_error(path: str, exc: BaseException) -> str:
    if isinstance(exc, X12Error):
        return str(exc.with_file(path))
    if isinstance(exc, OSError):
        return f"{path}: {exc.strerror or type(exc).__name__}"
    return f"{path}: internal error ({type(exc).__name__}) while reading the file"


def _check_file(path: Path) -> None:
    if not path.exists():
        raise X12Error("no such file", file=str(path))
    if path.is_dir():
        raise X12Error("is a directory, not an X12 file", file=str(path))


def _ack_path(ack: Path, inputs: list[Path], one: Path) -> Path:
    if len(inputs) == 1 and not ack.is_dir():
        return ack
    return ack / f"{one.name}.999"


# -------------------------------------------------------------------------------------------
# validate
# -------------------------------------------------------------------------------------------


@app.command("validate")
def validate_cmd(
    files: Annotated[list[Path], typer.Argument(metavar="FILE", help="837P or 835 files.")],
    ack: Annotated[Path | None, typer.Option(
        "--ack", metavar="PATH",
        help="Write the 999 of each 837P input (0600). One input: PATH is the file. Several "
             "inputs: PATH is a directory and each 999 is PATH/<input name>.999.")] = None,
    ack_control: Annotated[int | None, typer.Option(
        "--ack-control", help="ISA13/GS06 of the first 999 (default: from the clock).")] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, help="Processes for large files (default: all cores).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the summary lines.")] = False,
) -> None:
    """Validate 837P / 835 files against the X12 5010 implementation guides (pyx12 maps)."""
    from edi.ack999 import write_999
    from edi.validate import validate_file

    worst = EXIT_OK
    control = ack_control if ack_control is not None else int(time.time()) % 1_000_000_000
    if ack is not None and len(files) > 1:
        try:
            ack.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            fail(f"--ack {ack}: cannot create the directory: {exc.strerror}", EXIT_BAD_INPUT)
    for path in files:
        label = str(path)
        try:
            _check_file(path)
            result = validate_file(path, label, workers=workers)
        except Exception as exc:
            _echo_err(_one_line_error(label, exc))
            worst = EXIT_BAD_INPUT
            continue
        if not quiet:
            for f in result.findings:
                typer.echo(f.format())
        n = len(result.findings)
        verdict = "valid" if result.valid else "INVALID"
        typer.echo(f"{label}: {result.transaction}, {result.claims} claim(s), {n} finding(s): {verdict}")
        if n and worst == EXIT_OK:
            worst = EXIT_FINDINGS
        if ack is not None:
            if result.transaction != "837P":
                _echo_err(f"{label}: no 999 written: a 999 acknowledges an 837P, this file is an "
                          f"{result.transaction}")
                worst = EXIT_BAD_INPUT
                continue
            target = _ack_path(ack, files, path)
            try:
                write_999(result, target, control_number=control)
            except OSError as exc:
                _echo_err(f"{target}: cannot write the 999: {exc.strerror}")
                worst = EXIT_BAD_INPUT
                continue
            control += len(result.interchanges)
            if not quiet:
                typer.echo(f"{label}: 999 written to {target}")
    raise typer.Exit(worst)


# -------------------------------------------------------------------------------------------
# parse
# -------------------------------------------------------------------------------------------


class Format(StrEnum):
    json = "json"
    summary = "summary"
    x12 = "x12"


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _d(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def claim_json(claim: Any) -> dict[str, Any]:
    """An 837P claim as a JSON-ready dict WITHOUT PHI (no names, member ids, birth dates,
    addresses of the subscriber or patient)."""
    dates = claim.service_dates
    return {
        "claim_id": claim.claim_id,
        "total_charge": _s(claim.total_charge),
        "frequency_code": claim.frequency_code,
        "place_of_service": claim.place_of_service,
        "facility_qualifier": claim.facility_qualifier,
        "payer": {"id": claim.payer_id, "name": claim.payer_name,
                  "claim_filing_indicator": claim.claim_filing_indicator},
        "billing_npi": claim.billing_npi,
        "rendering_npi": claim.rendering_npi,
        "referring_npi": claim.referring_npi,
        "diagnoses": [{"qualifier": q, "code": _dotted(code)} for q, code in claim.diagnoses],
        "service_dates": [_d(x) for x in dates],
        "service_date_from": _d(dates[0]) if dates else None,
        "service_date_to": _d(dates[-1]) if dates else None,
        "prior_authorization": claim.ref("G1") or None,
        "payer_claim_number": claim.ref("F8") or None,
        "transaction_set": claim.header.control_number,
        "segment_number": claim.first_segment_number,
        "lines": [{
            "number": ln.number,
            "qualifier": ln.qualifier,
            "procedure": ln.code,
            "modifiers": ln.modifiers,
            "units": _s(ln.units),
            "charge": _s(ln.charge),
            "unit_basis": ln.unit_basis,
            "place_of_service": ln.place_of_service or None,
            "diagnosis_pointers": ln.pointers,
            "service_date": _d(ln.service_date),
            "ndc": ln.ndc or None,
            "ndc_quantity": _s(ln.ctp_quantity),
            "ndc_unit": ln.ctp_unit or None,
            "rendering_npi": ln.rendering_npi or None,
        } for ln in claim.lines],
    }


def _dotted(code: str) -> str:
    from edi.x837 import dotted_icd
    return dotted_icd(code)


def _render(seg: Segment, d: Delimiters) -> str:
    if type(seg) is not Segment:
        from edi.reader import segment_text

        return segment_text(seg, d)          # a wrapped segment: as read, line breaks included
    return seg.pre + d.element.join(seg.elements) + d.segment


def _write_x12(segments: Iterator[tuple[Segment, Delimiters]], reader: Any, out: IO[bytes]) -> None:
    """Write segments back byte for byte, each with the delimiters of its own interchange;
    an unterminated last segment stays unterminated, trailing bytes are kept."""
    buf: list[str] = []
    size = 0
    for seg, d in segments:
        if size > 1 << 20:
            out.write("".join(buf).encode("latin-1"))
            buf.clear()
            size = 0
        text = _render(seg, d)
        buf.append(text)
        size += len(text)
    if reader.unterminated and buf:
        buf[-1] = buf[-1][:-1]
    buf.append(reader.trailer)
    out.write("".join(buf).encode("latin-1"))


def _parse_837(path: Path, label: str, fmt: Format, out: IO[bytes]) -> None:
    from edi.x837 import Claim, Envelope, Parser837, TransactionHeader, event_segments

    parser = Parser837(path, label)
    if fmt is Format.x12:
        def segs() -> Iterator[tuple[Segment, Delimiters]]:
            for ev in parser.events():
                d = parser.delimiters
                for s in event_segments(ev):
                    yield s, d
        _write_x12(segs(), parser.reader, out)
        return
    if fmt is Format.json:
        _write_json_lines((claim_json(c) for c in parser.claims()), out)
        return
    interchanges = groups = sets = claims = lines = 0
    charge = Decimal(0)
    line_charge = Decimal(0)
    for ev in parser.events():
        t = type(ev)
        if t is Claim:
            claims += 1
            lines += len(ev.lines)  # type: ignore[union-attr]
            if ev.total_charge is not None:  # type: ignore[union-attr]
                charge += ev.total_charge  # type: ignore[union-attr]
            for ln in ev.lines:  # type: ignore[union-attr]
                if ln.charge is not None:
                    line_charge += ln.charge
        elif t is TransactionHeader:
            sets += 1
        elif t is Envelope:
            sid = ev.segment.elements[0]  # type: ignore[union-attr]
            if sid == "ISA":
                interchanges += 1
            elif sid == "GS":
                groups += 1
    _print_summary(out, [
        ("file", label), ("transaction", "837P"), ("interchanges", interchanges),
        ("functional_groups", groups), ("transaction_sets", sets), ("claims", claims),
        ("service_lines", lines), ("total_charge", charge), ("line_charge_total", line_charge),
        ("envelope_findings", len(parser.findings)),
    ])


def _write_json_lines(objects: Iterator[dict[str, Any]], out: IO[bytes]) -> None:
    """One compact JSON object per line, written in batches (streaming)."""
    buf: list[str] = []
    for obj in objects:
        buf.append(json.dumps(obj, separators=(",", ":"), default=str))
        if len(buf) >= 256:
            out.write(("\n".join(buf) + "\n").encode())
            buf.clear()
    if buf:
        out.write(("\n".join(buf) + "\n").encode())


def _print_summary(out: IO[bytes], rows: list[tuple[str, object]]) -> None:
    out.write("".join(f"{k}: {v}\n" for k, v in rows).encode())


def _parse_835(path: Path, label: str, fmt: Format, out: IO[bytes]) -> None:
    from edi.x835 import ClaimPayment, Parser835, RemitHeader, RemitTrailer, event_segments_835
    from edi.x837 import Envelope

    parser = Parser835(path, label)
    if fmt is Format.x12:
        def segs() -> Iterator[tuple[Segment, Delimiters]]:
            for ev in parser.events():
                d = parser.delimiters
                for s in event_segments_835(ev):
                    yield s, d
        _write_x12(segs(), parser.reader, out)
        return
    if fmt is Format.json:
        _write_json_lines((c.as_json() for c in parser.claims()), out)
        return
    interchanges = sets = claims = lines = 0
    charge = paid = patient = payments = plb = Decimal(0)
    for ev in parser.events():
        t = type(ev)
        if t is ClaimPayment:
            claims += 1
            lines += len(ev.lines)  # type: ignore[union-attr]
            charge += ev.charge or 0  # type: ignore[union-attr]
            paid += ev.paid or 0  # type: ignore[union-attr]
            patient += ev.patient_responsibility or 0  # type: ignore[union-attr]
        elif t is RemitHeader:
            sets += 1
            payments += ev.total_payment or 0  # type: ignore[union-attr]
        elif t is RemitTrailer:
            plb += ev.plb_total  # type: ignore[union-attr]
        elif t is Envelope and ev.segment.elements[0] == "ISA":  # type: ignore[union-attr]
            interchanges += 1
    _print_summary(out, [
        ("file", label), ("transaction", "835"), ("interchanges", interchanges),
        ("transaction_sets", sets), ("claims", claims), ("service_lines", lines),
        ("total_charge", charge), ("total_paid", paid), ("patient_responsibility", patient),
        ("provider_adjustments", plb), ("total_payments", payments),
        ("balance_failures", parser.balance_failures),
    ])


@contextmanager
def _output(path: Path | None) -> Iterator[IO[bytes]]:
    if path is None:
        out = stdout_bytes()
        yield out
        out.flush()
        return
    with private_open(path) as fh:
        yield fh


@app.command("parse")
def parse_cmd(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="An 837P or 835 file.")],
    fmt: Annotated[Format, typer.Option(
        "--format", "-f", help="summary: counts and totals; json: one JSON line per claim, no PHI; "
                               "x12: the file written back byte for byte.")] = Format.summary,
    output: Annotated[Path | None, typer.Option("--output", "-o",
                                                help="Write here (0600) instead of stdout.")] = None,
) -> None:
    """Parse an 837P or 835 and print it as a summary, JSON Lines or X12."""
    from edi.validate import detect_transaction

    label = str(file)
    with _input_errors(label):
        _check_file(file)
        kind = detect_transaction(file, label)
        with _output(output) as out:
            if kind == "837P":
                _parse_837(file, label, fmt, out)
            else:
                _parse_835(file, label, fmt, out)
    raise typer.Exit(EXIT_OK)
