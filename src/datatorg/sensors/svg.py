"""Server-side SVG for the live sensor pages: a map of Halden drawn offline, and line charts.

The map is drawn from coordinates embedded here (the shore of Iddefjorden and the river
Tista, simplified by hand): no tile server, no JavaScript needed. Colours are presentation
attributes (the CSP forbids inline styles); every dot has a title, and the page shows the
same values in a table. ``static/sensors.js`` may recolour dots as new readings arrive.
"""

from __future__ import annotations

import math
from typing import Any

from markupsafe import Markup, escape

from datatorg.web import charts, formatting
from datatorg.web.i18n import gettext as _

# (lon, lat) of the map's corners: central Halden
WEST, EAST, SOUTH, NORTH = 11.325, 11.455, 59.095, 59.150
W = 640
H = int(W * (NORTH - SOUTH) / ((EAST - WEST) * math.cos(math.radians(59.12))))
FJORD = [  # the water south of the town (Iddefjorden and the harbour), a closed ring
    (11.325, 59.103),
    (11.345, 59.107),
    (11.362, 59.112),
    (11.374, 59.116),
    (11.383, 59.1185),
    (11.392, 59.1178),
    (11.401, 59.1160),
    (11.412, 59.1135),
    (11.425, 59.1110),
    (11.440, 59.1080),
    (11.455, 59.1060),
    (11.455, 59.095),
    (11.325, 59.095),
]
TISTA = [  # the river Tista, from Tistedal to its mouth in the harbour
    (11.455, 59.133),
    (11.440, 59.131),
    (11.425, 59.127),
    (11.412, 59.1245),
    (11.400, 59.1222),
    (11.392, 59.1200),
    (11.386, 59.1188),
]
PLACES = [
    ("Sentrum", 11.3875, 59.1229),
    ("Fredriksten", 11.3985, 59.1175),
    ("Tistedal", 11.445, 59.1345),
    ("Brødløs", 11.352, 59.131),
    ("Idd", 11.420, 59.102),
]
LEVEL_FILL = {"good": "#1b7a3a", "fair": "#a85d00", "poor": "#b3261e", "none": "#3b5b8c"}


# the phone's drawing: 340 units across a 360 px phone's column, so 13-unit text stays
# about 12 px or more (``.chart-wide`` / ``.chart-narrow``: the stylesheet shows one)
NARROW = 340


def xy(lon: float, lat: float, width: int = W) -> tuple[float, float]:
    height = width * H / W
    return ((lon - WEST) / (EAST - WEST) * width, (NORTH - lat) / (NORTH - SOUTH) * height)


def _path(points: list[tuple[float, float]], close: bool, width: int = W) -> str:
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(*p, width) for p in points))
    return f"M{coords}{' Z' if close else ''}"


def halden_map(
    devices: list[dict[str, Any]], title: str, legend: dict[str, str], ident: str = "map"
) -> Markup:
    """The devices as dots on Halden (``id``, ``name``, ``latitude``, ``longitude``,
    ``level``), with a legend of the levels' meanings; drawn wide and narrow."""
    return Markup(
        _map(devices, title, legend, ident + "-w", W, 12, "chart-wide")
        + _map(devices, title, legend, ident + "-n", NARROW, 13, "chart-narrow")
    )


def _map(
    devices: list[dict[str, Any]],
    title: str,
    legend: dict[str, str],
    ident: str,
    width: int,
    font: int,
    css: str,
) -> str:
    height = round(width * H / W)
    body = [
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#f4f1e8"/>',
        f'<path d="{_path(FJORD, True, width)}" fill="#c9dff0" stroke="#6d94b5" stroke-width="1"/>',
        f'<path d="{_path(TISTA, False, width)}" fill="none" stroke="#6d94b5" stroke-width="4"/>',
    ]
    for name, lon, lat in PLACES:
        x, y = xy(lon, lat, width)
        body.append(
            f'<text x="{x:.1f}" y="{y - 8:.1f}" font-size="{font}" fill="#333" '
            f'text-anchor="middle">{escape(name)}</text>'
        )
    for d in devices:
        if d.get("latitude") is None or d.get("longitude") is None:
            continue
        x, y = xy(float(d["longitude"]), float(d["latitude"]), width)
        if not (0 <= x <= width and 0 <= y <= height):
            continue
        fill = LEVEL_FILL.get(d.get("level", "none"), LEVEL_FILL["none"])
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{fill}" stroke="#fff" '
            f'stroke-width="1" data-entity="{escape(d["id"])}">'
            f"<title>{escape(d.get('name', d['id']))}</title></circle>"
        )
    # the legend along the bottom, in as many rows as it needs (the last row lowest)
    rows: list[list[tuple[str, str, int]]] = [[]]
    lx = 8
    for key, label in legend.items():
        step = 18 + round(font * 0.6 * len(label))
        if rows[-1] and lx + step > width:
            rows.append([])
            lx = 8
        rows[-1].append((key, label, lx))
        lx += step
    for r, row in enumerate(rows):
        ly = height - 12 - (len(rows) - 1 - r) * (font + 8)
        for key, label, x0 in row:
            body.append(
                f'<circle cx="{x0 + 6}" cy="{ly}" r="5" fill="{LEVEL_FILL[key]}"/>'
                f'<text x="{x0 + 15}" y="{ly + 4}" font-size="{font}" fill="#222">'
                f"{escape(label)}</text>"
            )
    return (
        f'<svg class="sensor-map {css}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{ident}-t" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{ident}-t">{escape(title)}</title>' + "".join(body) + "</svg>"
    )


def line_chart(
    points: list[tuple[str, float]], title: str, ident: str, unit: str, *, percent: bool = False
) -> Markup:
    """A line over time (``(label, value)`` in order), with its axis values written the
    reader's way; a share 0–1 (``percent``) is drawn as percent. Drawn wide and narrow."""
    if percent:
        points = [(t, v * 100) for t, v in points]
    return Markup(
        _chart(points, title, ident + "w", unit, 640, 220, 56, 12, "chart-wide")
        + _chart(points, title, ident + "n", unit, NARROW, 220, 52, 13, "chart-narrow")
    )


def _chart(
    points: list[tuple[str, float]],
    title: str,
    ident: str,
    unit: str,
    cw: int,
    ch: int,
    pad_l: int,
    font: int,
    css: str,
) -> str:
    pad_b, pad_t = 32, 12
    body: list[str] = []
    if points:
        values = [v for _, v in points]
        ticks = charts.nice_ticks(min(values), max(values), 4, zero=True)
        lo, hi = ticks[0], ticks[-1]
        hi = hi if hi > lo else lo + 1
        digits = charts._digits(ticks)
        n = max(len(points) - 1, 1)

        def px(i: int) -> float:
            return pad_l + (cw - pad_l - 8) * i / n

        def py(v: float) -> float:
            return ch - pad_b - (ch - pad_b - pad_t) * (v - lo) / (hi - lo)

        for v in ticks:
            body.append(
                f'<line x1="{pad_l}" y1="{py(v):.1f}" x2="{cw - 8}" y2="{py(v):.1f}" '
                'stroke="#ddd" stroke-width="0.5"/>'
                f'<text x="{pad_l - 6}" y="{py(v) + 4:.1f}" text-anchor="end" '
                f'font-size="{font}" fill="#333">{escape(formatting.num(v, digits))}</text>'
            )
        line = " ".join(f"{px(i):.1f},{py(v):.1f}" for i, (_, v) in enumerate(points))
        body.append(f'<polyline points="{line}" fill="none" stroke="#1f4e79" stroke-width="2"/>')
        for i in (0, len(points) - 1):
            body.append(
                f'<text x="{px(i):.1f}" y="{ch - 10}" font-size="{font}" fill="#333" '
                f'text-anchor="{"start" if i == 0 else "end"}">'
                f"{escape(points[i][0][11:16])}</text>"
            )
    desc = _("%(n)s readings, in %(unit)s") % {"n": formatting.num(len(points)), "unit": unit}
    return (
        f'<svg class="chart {css}" viewBox="0 0 {cw} {ch}" role="img" '
        f'aria-labelledby="{ident}-t {ident}-d" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(desc)}'
        "</desc>" + "".join(body) + "</svg>"
    )
