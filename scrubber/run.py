"""File-level scrubbing: stream an 837P, split its claims into clean and held 837P files, report.

Every input claim lands in exactly one output.  Outputs are first written to temporary files next
to their targets and renamed into place only when the whole input was read, so bad input never
leaves half-written files.  When no claim is clean (or none is held) that output file is not
written — any old file at that path is removed so it cannot be mistaken for this run's — and the
report's summary says ``null`` for it.  All files are created 0600.

Staged (``scrub_file(..., stage=...)``, for a worker of a cluster): the outputs are written to
the given staging paths instead, the summary names the targets as the one-process run does, and
:func:`place_staged` later moves them into place with the same rules (so the targets end up
byte for byte as the one-process run leaves them).
"""

from __future__ import annotations

import errno
import os
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from edi.files import append_file, private_open
from edi.x837 import Claim, ClaimWriter, Parser837
from scrubber.engine import ClaimResult, Scrubber
from scrubber.report import HtmlReportWriter, JsonReportWriter


@dataclass
class ScrubSummary:
    file: str
    claims: int = 0
    clean: int = 0
    held: int = 0
    errors: int = 0
    warnings: int = 0
    charge_total: Decimal = Decimal("0")
    charge_held: Decimal = Decimal("0")
    by_rule: Counter[str] = field(default_factory=Counter)
    clean_out: str | None = None
    held_out: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "claims": self.claims, "clean": self.clean, "held": self.held,
            "errors": self.errors, "warnings": self.warnings,
            "charge_total": f"{self.charge_total:.2f}", "charge_held": f"{self.charge_held:.2f}",
            "by_rule": dict(sorted(self.by_rule.items())),
            "clean_out": self.clean_out, "held_out": self.held_out,
        }


class PendingFile:
    """An output written under a temporary name next to its target (0600) and renamed into
    place by :meth:`commit`; :meth:`abort` removes it.  Opened on demand: an output never
    opened is not written, and an old file at its path is removed at commit."""

    def __init__(self, target: Path | None, mode: str = "wb", stage: Path | None = None) -> None:
        self.target = target
        self.mode = mode
        self.staged = stage is not None     # written to ``stage``; :meth:`commit` leaves it there
        self.tmp = (stage if stage is not None else target.with_name(f".{target.name}.{os.getpid()}.tmp")) \
            if target is not None else None
        self.fh: IO[Any] | None = None

    def open(self) -> IO[Any]:
        if self.fh is None:
            assert self.tmp is not None
            self.fh = private_open(self.tmp, self.mode)
        return self.fh

    def commit(self) -> str | None:
        """Rename the written file into place (the path), or remove the target if nothing was written."""
        if self.target is None:
            return None
        if self.fh is None:
            if not self.staged and self.target.exists():
                self.target.unlink()
            return None
        self.fh.close()
        assert self.tmp is not None
        if not self.staged:
            os.replace(self.tmp, self.target)
        return str(self.target)

    def abort(self) -> None:
        if self.fh is not None:
            self.fh.close()
        if self.tmp is not None and self.tmp.exists():
            self.tmp.unlink()


class _LazyOutput:
    """A ClaimWriter on a temporary file, created at the first claim."""

    def __init__(self, target: Path | None, parser: Parser837, stage: Path | None = None) -> None:
        self.file = PendingFile(target, stage=stage)
        self.parser = parser
        self.writer: ClaimWriter | None = None

    def write(self, claim: Claim) -> None:
        if self.file.target is None:
            return
        if self.writer is None:
            self.writer = ClaimWriter(self.file.open(), self.parser.delimiters)
        self.writer.write(claim)

    def commit(self) -> str | None:
        if self.writer is not None:
            self.writer.close()
        return self.file.commit()

    def abort(self) -> None:
        self.file.abort()


def scrub_file(source: str | os.PathLike[str], *, clean_out: str | os.PathLike[str] | None = None,
               held_out: str | os.PathLike[str] | None = None, report: str | os.PathLike[str] | None = None,
               html: str | os.PathLike[str] | None = None, scrubber: Scrubber | None = None,
               progress: bool | None = None,
               on_result: Callable[[ClaimResult], None] | None = None,
               stage: dict[str, Path] | None = None, label: str | None = None) -> ScrubSummary:
    """Scrub one 837P file.  Raises :class:`edi.errors.X12Error` (or OSError) on unreadable input,
    after removing every partial output.

    ``stage``: write the outputs to these paths (keys ``clean``, ``held``, ``report``, ``html``)
    and leave the targets alone; :func:`place_staged` puts them in place.  ``label``: the input's
    name in the summary and the report (default: ``source`` as given)."""
    src = Path(source)
    label = str(source) if label is None else label
    stage = stage or {}
    scrubber = scrubber or Scrubber()
    parser = Parser837(src, src.name)
    summary = ScrubSummary(file=label)
    outs = {"clean": _LazyOutput(Path(clean_out) if clean_out else None, parser, stage.get("clean")),
            "held": _LazyOutput(Path(held_out) if held_out else None, parser, stage.get("held"))}
    report_file = PendingFile(Path(report) if report else None, "w", stage.get("report"))
    json_writer = JsonReportWriter(report_file.open(), label) if report else None
    html_writer = HtmlReportWriter(stage.get("html") or html, src.name) if html else None
    bar = _Progress(src) if (progress if progress is not None else sys.stderr.isatty()) else None
    try:
        for claim in parser.claims():
            result = scrubber.scrub(claim)
            held = result.held
            summary.claims += 1
            if claim.total_charge is not None:
                summary.charge_total += claim.total_charge
            if held:
                summary.held += 1
                if claim.total_charge is not None:
                    summary.charge_held += claim.total_charge
            else:
                summary.clean += 1
            for f in result.findings:
                summary.by_rule[f.rule] += 1
                if f.severity == "error":
                    summary.errors += 1
                else:
                    summary.warnings += 1
            outs["held" if held else "clean"].write(claim)
            if json_writer is not None:
                json_writer.add(result)
            if html_writer is not None:
                html_writer.add(result)
            if on_result is not None:
                on_result(result)
            if bar is not None and summary.claims % 200 == 0:
                bar.update(claim.segments[0].offset)
    except BaseException:
        for o in outs.values():
            o.abort()
        report_file.abort()
        if html_writer is not None:
            html_writer.abort()
        raise
    finally:
        if bar is not None:
            bar.close()
    summary.clean_out = outs["clean"].commit()
    summary.held_out = outs["held"].commit()
    if json_writer is not None:
        json_writer.close(summary.as_dict())
        report_file.commit()
    if html_writer is not None:
        html_writer.close(summary.as_dict())
    return summary


class _Progress:
    """A rich progress bar over the input's bytes (only on a terminal)."""

    def __init__(self, path: Path) -> None:
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("scrubbing"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(),
                                 transient=True)
        self.progress.start()
        self.task = self.progress.add_task("scrub", total=max(path.stat().st_size, 1))

    def update(self, offset: int) -> None:
        self.progress.update(self.task, completed=offset)

    def close(self) -> None:
        self.progress.stop()


STAGE_KINDS = ("clean", "held", "report", "html")


def place_staged(stage: dict[str, Path], *, clean_out: str | os.PathLike[str] | None = None,
                 held_out: str | os.PathLike[str] | None = None, report: str | os.PathLike[str] | None = None,
                 html: str | os.PathLike[str] | None = None) -> None:
    """Move the outputs a staged :func:`scrub_file` wrote into place, as its unstaged run would
    have left them: a clean or held output it did not write removes an old file at that path."""
    targets = {"clean": clean_out, "held": held_out, "report": report, "html": html}
    for kind in STAGE_KINDS:
        target, staged = targets[kind], stage.get(kind)
        if target is None or staged is None:
            continue
        dest = Path(target)
        if not staged.exists():
            if kind in ("clean", "held") and dest.exists():
                dest.unlink()
            continue
        try:
            os.replace(staged, dest)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")     # another filesystem: copy, then rename
            with private_open(tmp, "wb") as out:
                append_file(out.fileno(), staged)
            os.replace(tmp, dest)
            staged.unlink()
