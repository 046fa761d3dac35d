"""Server-side SVG bar charts (no JavaScript); every chart is shown next to a data table."""

from __future__ import annotations

import uuid

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD_L, PAD_B, PAD_T = 640, 220, 48, 36, 12


def bar_chart(points: list[tuple[str, int]], *, title: str, desc: str = "") -> Markup:
    """An accessible SVG bar chart of ``points`` (label, value); the labels are shown sparsely."""
    cid = "c" + uuid.uuid4().hex[:8]
    top = max([v for _, v in points] + [1])
    n = max(len(points), 1)
    inner_w, inner_h = WIDTH - PAD_L - 8, HEIGHT - PAD_B - PAD_T
    step = inner_w / n
    bar_w = max(1.0, step * 0.8)
    every = max(1, n // 8)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{cid}-t {cid}-d" class="chart" width="100%" '
        f'preserveAspectRatio="xMinYMin meet">',
        f'<title id="{cid}-t">{escape(title)}</title>',
        f'<desc id="{cid}-d">{escape(desc)}</desc>',
        f'<line x1="{PAD_L}" y1="{PAD_T + inner_h}" x2="{WIDTH - 8}" y2="{PAD_T + inner_h}" '
        'stroke="#4a5560" stroke-width="1"/>',
        f'<text x="{PAD_L - 6}" y="{PAD_T + 10}" text-anchor="end" font-size="12" '
        f'fill="#1b1f24">{top}</text>',
        f'<text x="{PAD_L - 6}" y="{PAD_T + inner_h}" text-anchor="end" font-size="12" '
        'fill="#1b1f24">0</text>',
    ]
    for i, (label, value) in enumerate(points):
        h = inner_h * value / top
        x = PAD_L + i * step + (step - bar_w) / 2
        y = PAD_T + inner_h - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="#0a5c8a">'
            f"<title>{escape(label)}: {value}</title></rect>"
        )
        if i % every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{HEIGHT - 14}" text-anchor="middle" '
                f'font-size="11" fill="#1b1f24">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
