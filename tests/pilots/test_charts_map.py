"""The server-drawn KPI chart and map: accessible SVG, escaped text, every case drawn."""

from __future__ import annotations

from datetime import date

from datatorg.pilots import geo
from datatorg.pilots.charts import fmt, kpi_chart


def test_kpi_chart_draws_values_baseline_and_target_and_escapes_text() -> None:
    svg = str(
        kpi_chart(
            [(date(2026, 1, 1), 10.0), (date(2026, 2, 1), 12.5), (date(2026, 3, 1), 9.0)],
            title="<b>Strøm</b>",
            desc="Verdier & mål",
            baseline=11.0,
            target=8.0,
            baseline_label="Utgangsverdi",
            target_label="Mål",
        )
    )
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert "&lt;b&gt;Strøm&lt;/b&gt;" in svg and "Verdier &amp; mål" in svg
    assert svg.count("<circle") == 2 * 3 and "<polyline" in svg  # drawn wide and narrow
    assert "Utgangsverdi 11" in svg and "Mål 8" in svg
    assert "1. jan. 2026" in svg and "1. mars 2026" in svg


def test_kpi_chart_with_one_value_or_none() -> None:
    one = str(kpi_chart([(date(2026, 1, 1), 5.0)], title="t", desc="d", baseline=None,
                        target=None, baseline_label="b", target_label="m"))  # fmt: skip
    assert one.count("<circle") == 2
    empty = str(kpi_chart([], title="t", desc="d", baseline=3.0, target=None,
                          baseline_label="b", target_label="m"))  # fmt: skip
    assert "<polyline" not in empty and "b 3" in empty


def test_numbers_are_written_the_readers_way_with_few_decimals() -> None:
    assert fmt(1234567.0) == "1\xa0234\xa0567"  # bokmål, the default
    assert fmt(0.125) == "0,125" and fmt(2.5) == "2,5" and fmt(1 / 3) == "0,333"


def test_the_map_places_every_marker_inside_the_picture() -> None:
    markers = [geo.Marker(p.lat, p.lon, f"{p.name} <x>", "idea") for p in geo.PLACES.values()]
    svg = str(geo.halden_map(markers, title="Kart", desc="Alle steder"))
    assert svg.count("<circle") == len(geo.PLACES) and "&lt;x&gt;" in svg
    for p in geo.PLACES.values():
        assert geo.in_halden(p.lat, p.lon)
        x, y = geo._xy(p.lon, p.lat)
        assert 0 < x < geo.WIDTH and 0 < y < geo.HEIGHT
