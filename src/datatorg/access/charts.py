"""Server-side SVG charts (no JavaScript, no CDN): a time series line and grouped bars.

Colours come from SVG presentation attributes (the CSP forbids inline styles); each chart
has a title and description for screen readers, and the page shows the same numbers as a
data table next to it.
"""

from __future__ import annotations

from markupsafe import Markup, escape

W, H = 640, 260
PAD_L, PAD_R, PAD_T, PAD_B = 56, 16, 16, 40


def _fmt(v: float) -> str:
    if abs(v) >= 1000:
        return f"{v:,.0f}".replace(",", " ")
    return f"{v:.3g}"


def _scale(values: list[float]) -> tuple[float, float]:
    lo, hi = min(values + [0.0]), max(values + [0.0])
    if hi == lo:
        hi = lo + 1
    return lo, hi


def _frame(title: str, desc: str, body: list[str], ident: str) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" '
        f'aria-labelledby="{ident}-t {ident}-d" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(desc)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def _axes(lo: float, hi: float) -> list[str]:
    out = [
        f'<line x1="{PAD_L}" y1="{H - PAD_B}" x2="{W - PAD_R}" y2="{H - PAD_B}" '
        'stroke="#555" stroke-width="1"/>',
        f'<line x1="{PAD_L}" y1="{PAD_T}" x2="{PAD_L}" y2="{H - PAD_B}" '
        'stroke="#555" stroke-width="1"/>',
    ]
    for i in range(5):
        v = lo + (hi - lo) * i / 4
        y = H - PAD_B - (H - PAD_T - PAD_B) * i / 4
        out.append(
            f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#333">{escape(_fmt(v))}</text>'
        )
        out.append(
            f'<line x1="{PAD_L}" y1="{y:.1f}" x2="{W - PAD_R}" y2="{y:.1f}" '
            'stroke="#ddd" stroke-width="0.5"/>'
        )
    return out


def line_chart(points: list[tuple[str, float | None]], title: str, ident: str) -> Markup:
    """A line over ``points`` (label, value); gaps where value is None."""
    values = [v for _, v in points if v is not None]
    if not values:
        return Markup("")
    lo, hi = _scale(values)
    n = max(1, len(points) - 1)
    plot_w, plot_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    body = _axes(lo, hi)
    segments: list[list[str]] = [[]]
    for i, (_, v) in enumerate(points):
        if v is None:
            segments.append([])
            continue
        x = PAD_L + plot_w * i / n
        y = H - PAD_B - plot_h * (v - lo) / (hi - lo)
        segments[-1].append(f"{x:.1f},{y:.1f}")
    for seg in segments:
        if len(seg) > 1:
            body.append(
                f'<polyline points="{" ".join(seg)}" fill="none" stroke="#1f5f8b" '
                'stroke-width="1.5"/>'
            )
    for i in (0, len(points) // 2, len(points) - 1):
        x = PAD_L + plot_w * i / n
        body.append(
            f'<text x="{x:.1f}" y="{H - PAD_B + 16}" text-anchor="middle" font-size="11" '
            f'fill="#333">{escape(points[i][0][:16])}</text>'
        )
    desc = f"{len(points)} points from {points[0][0]} to {points[-1][0]}; "
    desc += f"lowest {_fmt(min(values))}, highest {_fmt(max(values))}."
    return _frame(title, desc, body, ident)


def bar_chart(bars: list[tuple[str, float | None]], title: str, ident: str) -> Markup:
    """Vertical bars, one per group."""
    values = [v for _, v in bars if v is not None]
    if not values:
        return Markup("")
    lo, hi = _scale(values)
    plot_w, plot_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    step = plot_w / len(bars)
    body = _axes(lo, hi)
    zero = H - PAD_B - plot_h * (0 - lo) / (hi - lo)
    for i, (label, v) in enumerate(bars):
        if v is None:
            continue
        y = H - PAD_B - plot_h * (v - lo) / (hi - lo)
        x = PAD_L + step * i + step * 0.15
        top, height = min(y, zero), abs(zero - y)
        body.append(
            f'<rect x="{x:.1f}" y="{top:.1f}" width="{step * 0.7:.1f}" height="{height:.1f}" '
            f'fill="#2e7d4f"><title>{escape(label)}: {escape(_fmt(v))}</title></rect>'
        )
        if len(bars) <= 12:
            body.append(
                f'<text x="{x + step * 0.35:.1f}" y="{H - PAD_B + 16}" text-anchor="middle" '
                f'font-size="11" fill="#333">{escape(label[:12])}</text>'
            )
    desc = f"{len(bars)} groups; lowest {_fmt(min(values))}, highest {_fmt(max(values))}."
    return _frame(title, desc, body, ident)


def histogram(counts: list[int], ident: str, title: str) -> Markup:
    """A small histogram (sparkline-sized bars) for the column statistics."""
    if not counts or max(counts) == 0:
        return Markup("")
    w, h = 120, 28
    step = w / len(counts)
    top = max(counts)
    rects = "".join(
        f'<rect x="{i * step:.1f}" y="{h - h * c / top:.1f}" width="{step * 0.9:.1f}" '
        f'height="{h * c / top:.1f}" fill="#1f5f8b"/>'
        for i, c in enumerate(counts)
    )
    return Markup(
        f'<svg class="histogram" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        f'aria-labelledby="{ident}-t" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{ident}-t">{escape(title)}</title>{rects}</svg>'
    )
