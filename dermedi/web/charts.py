"""Server-side SVG charts (no JavaScript, no CDN): horizontal bars and weekly columns.

Colours and sizes are SVG presentation attributes, not ``style`` attributes, so the
Content-Security-Policy (no inline styles) holds.  Labels are XML-escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from html import escape

from markupsafe import Markup

Number = int | Decimal
BAR = "#3b6ea5"
ALT = "#c0504d"


def money(v: Number) -> str:
    return f"${Decimal(v):,.2f}"


def bars(title: str, rows: Sequence[tuple[str, Number]], fmt: Callable[[Number], str] = str,
         color: str = BAR, width: int = 460) -> Markup:
    """Horizontal bars, one row per (label, value)."""
    row_h, label_w, value_w = 22, 150, 90
    h = 28 + row_h * max(len(rows), 1)
    top = max((float(v) for _, v in rows), default=0.0) or 1.0
    bar_w = width - label_w - value_w
    out = [f'<svg class="chart" role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" '
           f'width="{width}" height="{h}" viewBox="0 0 {width} {h}">',
           f'<title>{escape(title)}</title>',
           f'<text x="0" y="16" font-size="13" font-weight="bold" fill="#222">{escape(title)}</text>']
    if not rows:
        out.append('<text x="0" y="42" font-size="12" fill="#666">no data</text>')
    for i, (label, value) in enumerate(rows):
        y = 28 + i * row_h
        w = max(1.0, bar_w * float(value) / top)
        out.append(f'<text x="0" y="{y + 15}" font-size="12" fill="#222">{escape(str(label)[:19])}</text>')
        out.append(f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
                   f'fill="{color}"><title>{escape(str(label))}: {escape(fmt(value))}</title></rect>')
        out.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 15}" font-size="11" fill="#444">{escape(fmt(value))}'
                   '</text>')
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704  (every interpolated label and value is escaped above)


def columns(title: str, rows: Sequence[tuple[str, Number]], fmt: Callable[[Number], str] = str,
            color: str = BAR, width: int = 460, height: int = 200, label_from: int = 5) -> Markup:
    """Vertical columns (e.g. by week), labels under the columns (``label[label_from:]``: a
    week's ISO date shows as MM-DD)."""
    n = max(len(rows), 1)
    plot_h = height - 60
    top = max((float(v) for _, v in rows), default=0.0) or 1.0
    step = (width - 10) / n
    out = [f'<svg class="chart" role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" '
           f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
           f'<title>{escape(title)}</title>',
           f'<text x="0" y="16" font-size="13" font-weight="bold" fill="#222">{escape(title)}</text>']
    if not rows:
        out.append('<text x="0" y="42" font-size="12" fill="#666">no data</text>')
    for i, (label, value) in enumerate(rows):
        hgt = max(1.0, plot_h * float(value) / top)
        x = 5 + i * step
        y = 24 + plot_h - hgt
        out.append(f'<rect class="bar" x="{x + 2:.1f}" y="{y:.1f}" width="{max(step - 4, 2):.1f}" height="{hgt:.1f}" '
                   f'fill="{color}"><title>{escape(str(label))}: {escape(fmt(value))}</title></rect>')
        out.append(f'<text x="{x + step / 2:.1f}" y="{height - 22}" font-size="9" fill="#444" '
                   f'text-anchor="middle">{escape(str(label)[label_from:])}</text>')
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704


def split(title: str, parts: Sequence[tuple[str, Number]], width: int = 460) -> Markup:
    """One stacked bar (e.g. open vs overdue, flagged vs not flagged) with a legend."""
    total = float(sum(float(v) for _, v in parts)) or 1.0
    palette = (BAR, ALT, "#9bbb59", "#8064a2")
    out = [f'<svg class="chart" role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" '
           f'width="{width}" height="80" viewBox="0 0 {width} 80"><title>{escape(title)}</title>',
           f'<text x="0" y="16" font-size="13" font-weight="bold" fill="#222">{escape(title)}</text>']
    x = 0.0
    for i, (label, value) in enumerate(parts):
        w = width * float(value) / total
        out.append(f'<rect class="bar" x="{x:.1f}" y="26" width="{w:.1f}" height="20" fill="{palette[i % 4]}">'
                   f'<title>{escape(label)}: {escape(str(value))}</title></rect>')
        out.append(f'<rect x="{i * 150}" y="58" width="10" height="10" fill="{palette[i % 4]}"/>'
                   f'<text x="{i * 150 + 14}" y="67" font-size="11" fill="#222">{escape(label)} {escape(str(value))}'
                   '</text>')
        x += w
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704


__all__ = ["bars", "columns", "money", "split"]
