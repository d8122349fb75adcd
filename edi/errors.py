"""Typed errors and findings for X12 input.

Every error names the file, the segment number (1-based, counted from the start of the
file), the segment id and, where known, the element (``CLM02``, ``SV101-2``).  Messages
never carry element values from patient or subscriber segments: they describe what is
wrong, not what the data was (no PHI in exceptions).
"""

from __future__ import annotations

from dataclasses import dataclass


class X12Error(Exception):
    """Input that cannot be read as the X12 transaction we expect (exit code 2)."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        segment_number: int | None = None,
        segment_id: str | None = None,
        element: str | None = None,
        offset: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.segment_number = segment_number
        self.segment_id = segment_id
        self.element = element
        self.offset = offset

    def with_file(self, file: str) -> X12Error:
        if self.file is None:
            self.file = file
        return self

    def location(self) -> str:
        parts: list[str] = []
        if self.segment_number is not None:
            parts.append(f"segment {self.segment_number}")
        if self.segment_id:
            where = self.segment_id
            if self.element and not self.element.startswith(self.segment_id):
                where = f"{self.segment_id} {self.element}"
            elif self.element:
                where = self.element
            parts.append(where)
        if self.offset is not None:
            parts.append(f"byte {self.offset}")
        return ", ".join(parts)

    def __str__(self) -> str:
        loc = self.location()
        head = self.file or "<input>"
        return f"{head}: {loc}: {self.message}" if loc else f"{head}: {self.message}"


class NotX12Error(X12Error):
    """The bytes are not an X12 interchange at all (no ISA, binary data)."""


class WrongTransactionError(X12Error):
    """A well-formed X12 file of another transaction or version than expected."""


@dataclass(frozen=True, slots=True)
class Finding:
    """A validation finding: the file is readable but breaks a rule of the guide."""

    segment_number: int | None
    segment_id: str | None
    element: str | None
    message: str
    code: str = "TR3"
    severity: str = "error"
    file: str | None = None

    def format(self) -> str:
        where = []
        if self.segment_number is not None:
            where.append(f"segment {self.segment_number}")
        if self.segment_id:
            where.append(self.element if self.element and self.element.startswith(self.segment_id)
                         else f"{self.segment_id} {self.element}" if self.element else self.segment_id)
        loc = ", ".join(where)
        head = self.file or "<input>"
        return f"{head}: {loc}: {self.message}" if loc else f"{head}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "segment_number": self.segment_number,
            "segment_id": self.segment_id,
            "element": self.element,
            "message": self.message,
            "code": self.code,
            "severity": self.severity,
        }
