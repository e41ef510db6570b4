"""Small server-rendered SVG charts: no JavaScript, no CDN, readable on a phone.

Each chart is an inline ``<svg>`` with a ``<title>`` and a ``<desc>`` (named by
``aria-labelledby``) and sits beside a table with the same numbers, which is what screen
readers and keyboard users read. The drawing is WIDTH (300) units wide, narrower than a phone, so
text stays legible when the page is narrow; CSS caps how large it grows on a desktop.
Colours come from CSS classes (``chart-*`` in app.css); every value is also written as text.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from markupsafe import Markup, escape

from ..i18n import number

WIDTH = 300
ROW = 34          # height of one horizontal bar row (label line + bar)
BAR = 14
LABEL_W = 0       # labels sit above the bars, so bars use the whole width
VALUE_W = 52      # room for the value at the right of a bar


@dataclass
class Bar:
    label: str
    value: float
    #: text shown for the value (defaults to the number)
    display: str | None = None
    href: str | None = None
    #: CSS class suffix for the colour (chart-bar-<css>)
    css: str = "a"


def _svg(chart_id: str, title: str, desc: str, height: float, body: str, interactive: bool = False) -> Markup:
    role = "group" if interactive else "img"
    return Markup(
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'preserveAspectRatio="xMinYMin meet" role="{role}" '
        f'aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d" focusable="false">'
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-d">{escape(desc)}</desc>{body}</svg>')


MAX_LABEL = 36


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[:MAX_LABEL - 1].rstrip() + "…"


def hbars(chart_id: str, title: str, desc: str, bars: Sequence[Bar], max_value: float | None = None) -> Markup:
    """Horizontal bars, one per row: the label above, the bar below with its value at the end.

    Bars with ``href`` are links (keyboard-focusable, named by the label and value they show).
    """
    top = max([max_value or 0] + [b.value for b in bars]) or 1
    span = WIDTH - VALUE_W
    parts = []
    interactive = any(b.href for b in bars)
    for i, b in enumerate(bars):
        y = i * ROW
        w = max(span * (b.value / top), 2 if b.value else 0)
        text = b.display if b.display is not None else number(b.value)
        row = (f'<text class="chart-label" x="0" y="{y + 12}">{escape(_short(b.label))}</text>'
               f'<rect class="chart-track" x="0" y="{y + 17}" width="{span}" height="{BAR}" rx="2"/>'
               f'<rect class="chart-bar chart-bar-{escape(b.css)}" x="0" y="{y + 17}" width="{w:.1f}" height="{BAR}" rx="2"/>'
               f'<text class="chart-value" x="{w + 6:.1f}" y="{y + 28}">{escape(text)}</text>')
        if b.href:
            # the link is named by the text it shows (label and value), so what a speech-input user
            # reads is its name (WCAG 2.5.3); a shortened label gets the full one as its <title>
            title = f"<title>{escape(b.label)} {escape(text)}</title>" if _short(b.label) != b.label else ""
            row = (f'<a href="{escape(b.href)}" class="chart-link">{title}'
                   f'<rect class="chart-hit" x="0" y="{y}" width="{WIDTH}" height="{ROW}"/>{row}</a>')
        parts.append(row)
    return _svg(chart_id, title, desc, max(len(bars), 1) * ROW + 2, "".join(parts), interactive)


def columns(chart_id: str, title: str, desc: str, labels: Sequence[str], values: Sequence[float],
            css: str = "a") -> Markup:
    """Vertical columns (a monthly series): values above, short labels below."""
    n = max(len(values), 1)
    top = max(list(values) + [0]) or 1
    plot_h, base = 120, 140
    slot = WIDTH / n
    width = max(min(slot * 0.7, 40), 4)
    parts = [f'<line class="chart-axis" x1="0" y1="{base}" x2="{WIDTH}" y2="{base}"/>']
    for i, (label, value) in enumerate(zip(labels, values)):
        h = plot_h * (value / top)
        x = i * slot + (slot - width) / 2
        cx = i * slot + slot / 2
        parts.append(f'<rect class="chart-bar chart-bar-{escape(css)}" x="{x:.1f}" y="{base - h:.1f}" '
                     f'width="{width:.1f}" height="{h:.1f}" rx="1"/>')
        if value:
            parts.append(f'<text class="chart-value chart-small" x="{cx:.1f}" y="{base - h - 4:.1f}" '
                         f'text-anchor="middle">{escape(number(value))}</text>')
        parts.append(f'<text class="chart-label chart-small" x="{cx:.1f}" y="{base + 14}" '
                     f'text-anchor="middle">{escape(label)}</text>')
    return _svg(chart_id, title, desc, base + 20, "".join(parts))


def stacked(chart_id: str, title: str, desc: str, rows: Sequence[tuple[str, Sequence[float]]],
            series: Sequence[str]) -> Markup:
    """One horizontal bar per row split into segments (``series`` are the CSS class suffixes)."""
    top = max([sum(v) for _l, v in rows] + [0]) or 1
    span = WIDTH - VALUE_W
    parts = []
    for i, (label, values) in enumerate(rows):
        y = i * ROW
        x = 0.0
        parts.append(f'<text class="chart-label" x="0" y="{y + 12}">{escape(_short(label))}</text>')
        for css, value in zip(series, values):
            w = span * (value / top)
            if w > 0:
                parts.append(f'<rect class="chart-bar chart-seg chart-bar-{escape(css)}" x="{x:.1f}" y="{y + 17}" '
                             f'width="{w:.1f}" height="{BAR}"/>')
            x += w
        parts.append(f'<text class="chart-value" x="{x + 6:.1f}" y="{y + 28}">{escape(number(sum(values)))}</text>')
    return _svg(chart_id, title, desc, max(len(rows), 1) * ROW + 2, "".join(parts))
