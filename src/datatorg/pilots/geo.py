"""Places in Halden and a simple map of the municipality, drawn offline as SVG.

The outline is a simplified polygon of Halden municipality (about 20 points, WGS 84,
traced by hand from the municipal border: Sweden to the east, the Iddefjord to the south,
Fredrikstad and Sarpsborg to the west); it is meant for orientation, not for surveying.
No tile server is used; everything here is embedded.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

# lon, lat
OUTLINE: list[tuple[float, float]] = [
    (11.160, 59.095),
    (11.140, 59.140),
    (11.185, 59.190),
    (11.240, 59.235),
    (11.330, 59.265),
    (11.440, 59.280),
    (11.560, 59.265),
    (11.660, 59.225),
    (11.735, 59.165),
    (11.745, 59.095),
    (11.700, 59.040),
    (11.640, 58.990),
    (11.575, 58.965),
    # the southern border follows the Iddefjord back to the sea
    (11.510, 59.000),
    (11.460, 59.045),
    (11.425, 59.080),
    (11.400, 59.104),
    (11.360, 59.108),
    (11.300, 59.096),
    (11.250, 59.086),
    (11.200, 59.088),
]
# The Tista from Femsjøen through Tistedal to the town centre, and the Iddefjord.
RIVER: list[tuple[float, float]] = [
    (11.540, 59.150),
    (11.500, 59.135),
    (11.460, 59.128),
    (11.420, 59.124),
    (11.390, 59.116),
]
FJORD: list[tuple[float, float]] = [(11.100, 59.080), *reversed(OUTLINE[13:])]


@dataclass(frozen=True)
class Place:
    code: str
    name: str
    lat: float
    lon: float


PLACES: dict[str, Place] = {
    p.code: p
    for p in (
        Place("sentrum", "Sentrum", 59.1217, 11.3875),
        Place("fredriksten", "Fredriksten", 59.1185, 11.3960),
        Place("tistedal", "Tistedal", 59.1300, 11.4700),
        Place("idd", "Idd", 59.1000, 11.4350),
        Place("berg", "Berg", 59.1500, 11.3200),
        Place("rokke", "Rokke", 59.1600, 11.3700),
        Place("sauoy", "Sauøy", 59.1230, 11.3400),
        Place("brodlos", "Brødløs", 59.1400, 11.3300),
        Place("remmen", "Remmen", 59.1290, 11.3620),
        Place("os", "Os", 59.1180, 11.3750),
        Place("gimle", "Gimle", 59.1310, 11.4020),
        Place("laby", "Låby", 59.1400, 11.4200),
        Place("hjortsberg", "Hjortsberg", 59.1250, 11.3900),
        Place("kommandantveien", "Kommandantveien", 59.1150, 11.4050),
        Place("svinesund", "Svinesund", 59.0990, 11.2700),
        Place("prestebakke", "Prestebakke", 59.0050, 11.5700),
        Place("enningdalen", "Enningdalen", 59.0300, 11.5500),
        Place("femsjoen", "Femsjøen", 59.1600, 11.5500),
        Place("torpum", "Torpum", 59.1100, 11.3200),
        Place("isebakke", "Isebakke", 59.1050, 11.4700),
    )
}
WHOLE_MUNICIPALITY = "halden"  # an idea for the whole municipality: drawn at the centre

# Halden municipality's bounding box, with a margin: coordinates outside are refused.
LAT_MIN, LAT_MAX = 58.90, 59.35
LON_MIN, LON_MAX = 11.05, 11.85

WIDTH, HEIGHT = 640, 480
_PAD = 16
_VIEW = (11.10, 58.94, 11.78, 59.30)  # lon_min, lat_min, lon_max, lat_max drawn


def in_halden(lat: float, lon: float) -> bool:
    return LAT_MIN <= lat <= LAT_MAX and LON_MIN <= lon <= LON_MAX


def place_point(code: str) -> tuple[float, float]:
    """(lat, lon) of a place code; the whole municipality is its centre."""
    place = PLACES.get(code) or PLACES["sentrum"]
    return place.lat, place.lon


def _xy(lon: float, lat: float) -> tuple[float, float]:
    lon0, lat0, lon1, lat1 = _VIEW
    x = _PAD + (lon - lon0) / (lon1 - lon0) * (WIDTH - 2 * _PAD)
    y = _PAD + (lat1 - lat) / (lat1 - lat0) * (HEIGHT - 2 * _PAD)
    return x, y


def _path(points: list[tuple[float, float]], close: bool) -> str:
    coords = [_xy(lon, lat) for lon, lat in points]
    d = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    return d + (" Z" if close else "")


@dataclass(frozen=True)
class Marker:
    lat: float
    lon: float
    label: str
    kind: str  # "idea" or "pilot"


def halden_map(markers: list[Marker], *, title: str, desc: str) -> Markup:
    """An SVG map of Halden with one linked, labelled dot per marker."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        'aria-labelledby="map-t map-d" class="chart map" width="100%" '
        'preserveAspectRatio="xMidYMid meet">',
        f'<title id="map-t">{escape(title)}</title><desc id="map-d">{escape(desc)}</desc>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#e8f1f7"/>',
        f'<path d="{_path(OUTLINE, True)}" fill="#f4f1e8" stroke="#4a5560" stroke-width="1.5"/>',
        f'<path d="{_path(FJORD, False)}" fill="none" stroke="#6f9fc0" stroke-width="5"/>',
        f'<path d="{_path(RIVER, False)}" fill="none" stroke="#6f9fc0" stroke-width="2.5"/>',
    ]
    x, y = _xy(11.3875, 59.1217)
    parts.append(
        f'<text x="{x + 8:.1f}" y="{y - 10:.1f}" font-size="13" fill="#1b1f24">Halden</text>'
    )
    # ideas first and pilots last, so a pilot's square is drawn on top
    ordered = sorted(markers, key=lambda m: m.kind == "pilot")
    for i, m in enumerate(ordered):
        mx, my = _xy(m.lon, m.lat)
        # spread markers at the same place a little, so each stays clickable
        mx += (i % 5 - 2) * 3.0
        my += (i // 5 % 5 - 2) * 3.0
        color = "#0a5c8a" if m.kind == "pilot" else "#a4161a"
        shape = (
            f'<rect x="{mx - 6:.1f}" y="{my - 6:.1f}" width="12" height="12" fill="{color}" '
            'stroke="#fff" stroke-width="1.5"/>'
            if m.kind == "pilot"
            else f'<circle cx="{mx:.1f}" cy="{my:.1f}" r="6" fill="{color}" stroke="#fff" '
            'stroke-width="1.5"/>'
        )
        # The dots are pictures; the list beside the map carries the links (an image's
        # children are not reachable for screen readers, so links inside would be lost).
        parts.append(f"<g><title>{escape(m.label)}</title>{shape}</g>")
    parts.append("</svg>")
    return Markup("".join(parts))
