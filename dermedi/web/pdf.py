"""Appeal letters to PDF with WeasyPrint (needs Pango: Debian libpango-1.0-0 libpangoft2-1.0-0)."""

from __future__ import annotations

import html


def letter_pdf(body: str) -> bytes:
    from weasyprint import HTML

    paragraphs = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in body.split("\n\n"))
    doc = ("<!doctype html><html><head><meta charset='utf-8'><style>"
           "@page { size: Letter; margin: 2.2cm } body { font-family: 'DejaVu Sans', sans-serif; font-size: 10.5pt;"
           " line-height: 1.4 } p { margin: 0 0 0.8em 0 }</style></head><body>" + paragraphs + "</body></html>")
    pdf: bytes = HTML(string=doc, base_url=None).write_pdf()
    return pdf
