"""Readable server-side SVG charts: nice ticks, axis titles with units, words in the page's
language, and a layout for phones as well as desks.

Each chart is drawn twice — a wide layout and a narrow one (360 px phones) — and the
stylesheet shows the one that fits (``.chart-wide`` / ``.chart-narrow``); a hidden drawing is
hidden from screen readers too. Colours are presentation attributes (the CSP forbids inline
styles). Every chart has a title and a description in the page's language, and the page shows
the same figures as a table next to it.

* ``nice_ticks``: axis steps of 1, 2 or 5 × 10ⁿ covering the values.
* ``line_chart``: a series over dates (gaps where a value is missing).
* ``bar_chart``: labelled horizontal bars from zero, each with its value written at its end.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from markupsafe import Markup, escape

from datatorg.web import formatting, i18n
from datatorg.web.i18n import gettext as _

INK, MUTED, GRID, LINE, BAR = "#1b1f24", "#4a5560", "#d5dbe1", "#0a5c8a", "#1e6b34"


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    font: int
    left: int
    right: int
    top: int
    bottom: int
    x_ticks: int
    y_ticks: int


WIDE = Layout(640, 300, 12, 64, 16, 28, 48, 6, 5)
NARROW = Layout(340, 260, 13, 52, 10, 28, 46, 3, 4)


def nice_step(span: float, count: int) -> float:
    """A step of 1, 2 or 5 × 10ⁿ that cuts ``span`` into about ``count`` parts."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * power >= raw:
            return float(m * power)
    return float(10 * power)


def nice_ticks(lo: float, hi: float, count: int = 5, *, zero: bool = False) -> list[float]:
    """Tick values covering [lo, hi] at a nice step (from 0 when ``zero``)."""
    if zero:
        lo, hi = min(0.0, lo), max(0.0, hi)
    if hi == lo:
        hi, lo = hi + (abs(hi) or 1.0), lo - (abs(lo) * 0.1 if not zero and lo else 0.0)
    step = nice_step(hi - lo, count)
    start = math.floor(lo / step) * step
    end = math.ceil(hi / step) * step
    n = int(round((end - start) / step))
    return [round(start + i * step, 10) for i in range(n + 1)]


def _digits(ticks: list[float]) -> int:
    """Decimals needed to write the ticks apart."""
    if len(ticks) < 2:
        return 0
    step = abs(ticks[1] - ticks[0])
    return max(0, -math.floor(math.log10(step))) if step < 1 else 0


def _frame(layout: Layout, ident: str, title: str, desc: str, body: list[str], css: str) -> str:
    return (
        f'<svg class="chart {css}" viewBox="0 0 {layout.width} {layout.height}" role="img" '
        f'aria-labelledby="{ident}-t {ident}-d" xmlns="http://www.w3.org/2000/svg" '
        f'font-family="system-ui, sans-serif" font-size="{layout.font}">'
        f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(desc)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def _text(x: float, y: float, s: str, anchor: str = "middle", fill: str = INK, **kw: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in kw.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}"{extra}>'
        f"{escape(s)}</text>"
    )


def _as_date(label: object) -> date | None:
    if isinstance(label, datetime):
        return label.date()
    if isinstance(label, date):
        return label
    try:
        return date.fromisoformat(str(label)[:10])
    except ValueError:
        return None


def _date_ticks(first: date, last: date, count: int) -> list[date]:
    """Dates for the x axis: month starts over long spans, evenly spaced days over short."""
    days = (last - first).days
    if days > 62:
        months = (last.year - first.year) * 12 + last.month - first.month
        step = max(1, math.ceil(months / count))
        for nice in (1, 2, 3, 4, 6, 12, 24):
            if nice >= step:
                step = nice
                break
        out = []
        y, m = first.year, first.month
        cur = date(y, m, 1)
        if cur < first:
            m += 1
        while True:
            y2, m2 = y + (m - 1) // 12, (m - 1) % 12 + 1
            cur = date(y2, m2, 1)
            if cur > last:
                break
            if (m2 - 1) % step == 0 or step == 1:
                out.append(cur)
            m += 1
        return out or [first]
    step_days = max(1, math.ceil(days / count))
    return [first + timedelta(days=i) for i in range(0, days + 1, step_days)]


def _date_label(d: date, span_days: int, locale: str) -> str:
    if span_days > 62:
        return formatting.day(d, locale, fmt="MMM y")
    return formatting.day(d, locale, fmt="d. MMM" if locale != "en" else "d MMM")


def _line(
    layout: Layout,
    ident: str,
    points: list[tuple[date, float | None]],
    title: str,
    desc: str,
    x_title: str,
    y_title: str,
    locale: str,
) -> str:
    values = [v for _, v in points if v is not None]
    ticks = nice_ticks(min(values), max(values), layout.y_ticks)
    lo, hi = ticks[0], ticks[-1]
    digits = _digits(ticks)
    plot_w = layout.width - layout.left - layout.right
    plot_h = layout.height - layout.top - layout.bottom
    first, last = points[0][0], points[-1][0]
    span = max(1, (last - first).days)

    def x_of(d: date) -> float:
        return layout.left + plot_w * (d - first).days / span

    def y_of(v: float) -> float:
        return layout.top + plot_h * (1 - (v - lo) / (hi - lo))

    body = [_text(layout.left, layout.top - 10, y_title, "start", MUTED)]
    for t in ticks:
        y = y_of(t)
        body.append(
            f'<line x1="{layout.left}" y1="{y:.1f}" x2="{layout.width - layout.right}" '
            f'y2="{y:.1f}" stroke="{GRID}" stroke-width="1"/>'
        )
        body.append(_text(layout.left - 6, y + 4, formatting.num(t, digits, locale), "end", MUTED))
    base_y = layout.top + plot_h
    body.append(
        f'<line x1="{layout.left}" y1="{base_y}" x2="{layout.width - layout.right}" '
        f'y2="{base_y}" stroke="{MUTED}" stroke-width="1"/>'
    )
    for d in _date_ticks(first, last, layout.x_ticks):
        x = x_of(d)
        body.append(
            f'<line x1="{x:.1f}" y1="{base_y}" x2="{x:.1f}" y2="{base_y + 4}" stroke="{MUTED}"/>'
        )
        anchor = "start" if x - layout.left < 20 else "end" if layout.width - x < 30 else "middle"
        body.append(_text(x, base_y + 17, _date_label(d, span, locale), anchor, MUTED))
    body.append(_text(layout.left + plot_w / 2, layout.height - 6, x_title, "middle", MUTED))
    segments: list[list[str]] = [[]]
    for d, v in points:
        if v is None:
            segments.append([])
            continue
        segments[-1].append(f"{x_of(d):.1f},{y_of(v):.1f}")
    for seg in segments:
        if len(seg) > 1:
            body.append(
                f'<polyline points="{" ".join(seg)}" fill="none" stroke="{LINE}" '
                'stroke-width="2" stroke-linejoin="round"/>'
            )
        elif len(seg) == 1:
            cx, cy = seg[0].split(",")
            body.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{LINE}"/>')
    return _frame(
        layout, ident, title, desc, body, f"chart-{'wide' if layout is WIDE else 'narrow'}"
    )


def line_chart(
    points: list[tuple[object, float | None]],
    *,
    title: str,
    x_title: str,
    y_title: str,
    ident: str | None = None,
) -> Markup:
    """A line over dated ``points`` (a date, a datetime or an ISO string; value or None)."""
    dated = [(d, v) for d, v in ((_as_date(x), v) for x, v in points) if d is not None]
    values = [v for _, v in dated if v is not None]
    if not values:
        return Markup("")
    dated.sort(key=lambda p: p[0])
    locale = i18n.current_locale()
    ident = ident or "c" + uuid.uuid4().hex[:8]
    ticks = nice_ticks(min(values), max(values))
    digits = _digits(ticks) + 1
    desc = _("%(n)s points from %(first)s to %(last)s; lowest %(low)s, highest %(high)s.") % {
        "n": formatting.num(len(dated), locale=locale),
        "first": formatting.day(dated[0][0], locale),
        "last": formatting.day(dated[-1][0], locale),
        "low": formatting.num(min(values), digits, locale),
        "high": formatting.num(max(values), digits, locale),
    }
    return Markup(
        _line(WIDE, ident + "w", dated, title, desc, x_title, y_title, locale)
        + _line(NARROW, ident + "n", dated, title, desc, x_title, y_title, locale)
    )


def _shorten(label: str, max_chars: int) -> str:
    """``label`` cut to ``max_chars`` with an ellipsis (the full text goes in a <title>)."""
    return label if len(label) <= max_chars else label[: max_chars - 1].rstrip() + "…"


def _bars(
    layout: Layout,
    ident: str,
    bars: list[tuple[str, float | None]],
    title: str,
    desc: str,
    value_title: str,
    locale: str,
    digits: int,
) -> str:
    """The wide drawing writes each label left of its bar; the narrow one (a phone) writes it
    on its own line above the bar, across the whole drawing, so a station's name is not cut
    to a dozen letters. A label still too long ends in "…" and keeps its full text in a
    <title> (and in the table beside the chart)."""
    wide = layout is WIDE
    label_w = 150 if wide else 0
    # about 0.56 em a letter on average: 22 letters of 12 px in 150 units, 40 of 13 px in 330
    max_chars = 22 if wide else 40
    row = layout.font * 2 if wide else layout.font * 3
    bar_top, bar_h = (row * 0.18, row * 0.64) if wide else (layout.font * 1.45, layout.font * 1.3)
    values = [v for _, v in bars if v is not None]
    ticks = nice_ticks(min(values), max(values), layout.y_ticks, zero=True)
    lo, hi = ticks[0], ticks[-1]
    left = label_w + 8 if wide else layout.right
    right = layout.width - layout.right - (46 if wide else 40)
    top = layout.top
    height = top + row * len(bars) + layout.bottom

    def x_of(v: float) -> float:
        return left + (right - left) * (v - lo) / (hi - lo)

    body = [_text(left, top - 10, value_title, "start", MUTED)]
    tick_digits = _digits(ticks)
    for t in ticks:
        x = x_of(t)
        body.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + row * len(bars)}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        body.append(
            _text(
                x,
                top + row * len(bars) + 16,
                formatting.num(t, tick_digits, locale),
                "middle",
                MUTED,
            )
        )
    zero = x_of(0.0)
    for i, (label, v) in enumerate(bars):
        y = top + row * i
        shown = _shorten(label, max_chars)
        text = (
            _text(label_w, y + row * 0.66, shown, "end")
            if wide
            else _text(left, y + layout.font * 1.05, shown, "start")
        )
        if shown != label:  # the whole name, for a pointer's hover and for assistive tech
            text = text.replace("</text>", f"<title>{escape(label)}</title></text>")
        body.append(text)
        if v is None:
            continue
        x0, x1 = sorted((zero, x_of(v)))
        written = formatting.num(v, digits, locale)
        body.append(
            f'<rect x="{x0:.1f}" y="{y + bar_top:.1f}" width="{max(1.0, x1 - x0):.1f}" '
            f'height="{bar_h:.1f}" fill="{BAR}"><title>{escape(label)}: {escape(written)}'
            "</title></rect>"
        )
        body.append(_text(x1 + 4, y + bar_top + bar_h * 0.8, written, "start"))
    frame_layout = Layout(
        layout.width, height, layout.font, layout.left, layout.right, layout.top, layout.bottom,
        layout.x_ticks, layout.y_ticks,
    )  # fmt: skip
    return _frame(
        frame_layout, ident, title, desc, body, f"chart-{'wide' if layout is WIDE else 'narrow'}"
    )


def bar_chart(
    bars: list[tuple[str, float | None]],
    *,
    title: str,
    value_title: str,
    ident: str | None = None,
    digits: int | None = None,
) -> Markup:
    """Horizontal bars from zero, one labelled row per group, the value written at its end."""
    values = [v for _, v in bars if v is not None]
    if not values:
        return Markup("")
    locale = i18n.current_locale()
    ident = ident or "c" + uuid.uuid4().hex[:8]
    if digits is None:
        digits = (
            0
            if all(float(v).is_integer() for v in values)
            else (1 if max(map(abs, values)) >= 10 else 2)
        )
    top = max(bars, key=lambda b: b[1] if b[1] is not None else -math.inf)
    low = min(bars, key=lambda b: b[1] if b[1] is not None else math.inf)
    desc = _("%(n)s groups; highest %(top)s (%(top_value)s), lowest %(low)s (%(low_value)s).") % {
        "n": formatting.num(len(bars), locale=locale),
        "top": top[0],
        "top_value": formatting.num(top[1], digits, locale),
        "low": low[0],
        "low_value": formatting.num(low[1], digits, locale),
    }
    return Markup(
        _bars(WIDE, ident + "w", bars, title, desc, value_title, locale, digits)
        + _bars(NARROW, ident + "n", bars, title, desc, value_title, locale, digits)
    )


def histogram(counts: list[int], ident: str, title: str) -> Markup:
    """A small histogram (sparkline-sized bars) for the column statistics."""
    if not counts or max(counts) == 0:
        return Markup("")
    w, h = 120, 28
    step = w / len(counts)
    top = max(counts)
    rects = "".join(
        f'<rect x="{i * step:.1f}" y="{h - h * c / top:.1f}" width="{step * 0.9:.1f}" '
        f'height="{h * c / top:.1f}" fill="{LINE}"/>'
        for i, c in enumerate(counts)
    )
    return Markup(
        f'<svg class="histogram" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        f'aria-labelledby="{ident}-t" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{ident}-t">{escape(title)}</title>{rects}</svg>'
    )
