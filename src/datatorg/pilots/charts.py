"""A KPI's chart, drawn on the server as SVG (no scripts): its values over time as a line,
with the baseline and the target as labelled dashed lines. Pages show the same figures in a
table next to it.

Like ``web.charts``, the chart is drawn twice, wide and narrow (``.chart-wide`` /
``.chart-narrow``, the stylesheet shows the one that fits): the narrow drawing is about as
wide as a 360 px phone's column, so its 13-unit text stays about 12 px or more. Numbers and
dates are written the reader's way (``web.formatting``)."""

from __future__ import annotations

import math
import sys
import uuid
from datetime import date

from markupsafe import Markup, escape

from datatorg.web import formatting

WIDTH, HEIGHT = 520, 260
PAD_L, PAD_R, PAD_T, PAD_B = 84, 12, 20, 40
# the phone's drawing: 340 units across a column of about 330 px
NARROW_WIDTH, NARROW_HEIGHT, NARROW_PAD_L = 340, 240, 70


def fmt(value: float) -> str:
    """A number for an axis or a table, the reader's way: up to three decimals, no trailing
    zeros ("515 536,5" in bokmål, "515,536.5" in English)."""
    if not math.isfinite(value) or abs(value) >= 1e15:
        return f"{value:.3g}"  # beyond what anyone measures; still a number, never an error
    return formatting.num(round(value, 3))


def axis(value: float) -> str:
    """An axis label: whole numbers from 100 up, two decimals below."""
    if not math.isfinite(value):
        value = math.copysign(sys.float_info.max, value)
    return fmt(round(value)) if abs(value) >= 100 else fmt(round(value, 2))


def kpi_chart(
    values: list[tuple[date, float]],
    *,
    title: str,
    desc: str,
    baseline: float | None,
    target: float | None,
    baseline_label: str,
    target_label: str,
) -> Markup:
    cid = "k" + uuid.uuid4().hex[:8]
    args = (values, title, desc, baseline, target, baseline_label, target_label)
    return Markup(
        _draw(cid + "w", "chart-wide", WIDTH, HEIGHT, PAD_L, *args)
        + _draw(cid + "n", "chart-narrow", NARROW_WIDTH, NARROW_HEIGHT, NARROW_PAD_L, *args)
    )


def _draw(
    cid: str,
    css: str,
    WIDTH: int,  # noqa: N803 - the drawing's own size, shadowing the module's
    HEIGHT: int,  # noqa: N803
    PAD_L: int,  # noqa: N803
    values: list[tuple[date, float]],
    title: str,
    desc: str,
    baseline: float | None,
    target: float | None,
    baseline_label: str,
    target_label: str,
) -> str:
    ys = [v for _, v in values] + [x for x in (baseline, target) if x is not None]
    # Work on values divided by the largest magnitude, so that no difference or padding
    # overflows, whatever the numbers (a float's range ends near 1.8e308).
    scale = max([abs(v) for v in ys] + [1.0])
    lo, hi = (min(ys) / scale, max(ys) / scale) if ys else (0.0, 1.0)
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    pad = (hi - lo) * 0.08
    lo, hi = lo - pad, hi + pad
    inner_w, inner_h = WIDTH - PAD_L - PAD_R, HEIGHT - PAD_T - PAD_B

    def y(v: float) -> float:
        return PAD_T + inner_h - (v / scale - lo) / (hi - lo) * inner_h

    days = [d.toordinal() for d, _ in values]
    d0, d1 = (min(days), max(days)) if days else (0, 1)
    span = max(d1 - d0, 1)

    def x(d: date) -> float:
        if len(values) == 1:
            return PAD_L + inner_w / 2
        return PAD_L + (d.toordinal() - d0) / span * inner_w

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{cid}-t {cid}-d" class="chart {css}" width="100%" '
        'preserveAspectRatio="xMinYMin meet">',
        f'<title id="{cid}-t">{escape(title)}</title><desc id="{cid}-d">{escape(desc)}</desc>',
        f'<line x1="{PAD_L}" y1="{PAD_T + inner_h}" x2="{WIDTH - PAD_R}" y2="{PAD_T + inner_h}" '
        'stroke="#4a5560"/>',
        f'<line x1="{PAD_L}" y1="{PAD_T}" x2="{PAD_L}" y2="{PAD_T + inner_h}" stroke="#4a5560"/>',
        f'<text x="{PAD_L - 6}" y="{PAD_T + 10}" text-anchor="end" font-size="13" '
        f'fill="#1b1f24">{escape(axis(hi * scale))}</text>',
        f'<text x="{PAD_L - 6}" y="{PAD_T + inner_h}" text-anchor="end" font-size="13" '
        f'fill="#1b1f24">{escape(axis(lo * scale))}</text>',
    ]
    # the baseline's label at the left end of its line, the target's at the right end, so
    # the two never cover each other when they are close
    lines = (
        (baseline, baseline_label, "#4a5560", "start"),
        (target, target_label, "#1e6b34", "end"),
    )
    for level, text, color, anchor in lines:
        if level is None:
            continue
        tx = PAD_L + 4 if anchor == "start" else WIDTH - PAD_R - 4
        parts.append(
            f'<line x1="{PAD_L}" y1="{y(level):.1f}" x2="{WIDTH - PAD_R}" y2="{y(level):.1f}" '
            f'stroke="{color}" stroke-dasharray="6 4" stroke-width="1.5"/>'
            f'<text x="{tx}" y="{y(level) - 4:.1f}" text-anchor="{anchor}" '
            f'font-size="13" fill="{color}">{escape(text)} {escape(fmt(level))}</text>'
        )
    if values:
        pts = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in values)
        parts.append(f'<polyline points="{pts}" fill="none" stroke="#0a5c8a" stroke-width="2"/>')
        if len(values) <= 60:
            for d, v in values:
                parts.append(
                    f'<circle cx="{x(d):.1f}" cy="{y(v):.1f}" r="3" fill="#0a5c8a">'
                    f"<title>{escape(formatting.day(d))}: {escape(fmt(v))}</title></circle>"
                )
        first, last = values[0][0], values[-1][0]
        parts.append(
            f'<text x="{PAD_L}" y="{HEIGHT - 14}" font-size="13" fill="#1b1f24">'
            f"{escape(formatting.day(first))}</text>"
        )
        if last != first:
            parts.append(
                f'<text x="{WIDTH - PAD_R}" y="{HEIGHT - 14}" text-anchor="end" font-size="13" '
                f'fill="#1b1f24">{escape(formatting.day(last))}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
