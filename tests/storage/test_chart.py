"""The temperature chart as SVG: well-formed, with readings, band, excursions and axes."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ids_app.db import Database
from ids_app.inventory.models import Location
from ids_app.storage.chart import (
    MIN_EXCURSION_WIDTH,
    ChartData,
    location_chart,
    nice_step,
    render_svg,
)
from tests.factories import Example, make_example
from tests.storage.chart_sample import DOCS_CHART, sample_chart
from tests.storage.support import at, import_log, later, write_log

SVG = "{http://www.w3.org/2000/svg}"
START = dt.datetime(2026, 11, 3, tzinfo=dt.UTC)


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def _classed(root: ET.Element, tag: str, name: str) -> list[ET.Element]:
    return [node for node in root.iter(f"{SVG}{tag}") if node.get("class") == name]


def _texts(root: ET.Element) -> list[str]:
    return [node.text or "" for node in root.iter(f"{SVG}text")]


def _hours(*values: tuple[float, float]) -> list[tuple[dt.datetime, float]]:
    return [(START + dt.timedelta(hours=h), c) for h, c in values]


def test_the_chart_draws_readings_band_excursions_and_labelled_axes() -> None:
    data = ChartData(
        title="IDS Fridge 1 & <friends>",
        start=START,
        end=START + dt.timedelta(hours=12),
        band=(2.0, 8.0),
        points=_hours((0, 5.0), (3, 5.5), (4, 11.0), (6, 5.0), (12, 4.0)),
        excursions=[(START + dt.timedelta(hours=4), START + dt.timedelta(hours=6))],
    )
    root = _parse(render_svg(data, tz=dt.UTC))
    (band,) = _classed(root, "rect", "band")
    (excursion,) = _classed(root, "rect", "excursion")
    (line,) = _classed(root, "polyline", "readings")
    assert len(line.get("points", "").split()) == 5
    assert len(_classed(root, "circle", "reading")) == 5
    # The band spans 2-8 °C, the excursion a sixth of the 12 h width.
    band_top, band_height = float(band.get("y", 0)), float(band.get("height", 0))
    assert band_height > 0
    assert band_top > 44
    plot_width = float(band.get("width", 0))
    assert float(excursion.get("width", 0)) == pytest.approx(plot_width / 6, abs=0.2)
    texts = _texts(root)
    assert {"Temperature (°C)", "Time (UTC)"} <= set(texts)
    assert {"00:00", "06:00", "12:00"} <= set(texts)
    assert {"2", "8"} <= set(texts)
    assert "IDS Fridge 1 & <friends>" in texts  # escaped in the file, read back intact
    assert {"Allowed 2 to 8 °C", "Excursion"} <= set(texts)


def test_the_line_breaks_where_no_reading_was_taken() -> None:
    readings = [(h, 5.0) for h in range(6)] + [(h, 5.0) for h in range(30, 36)]
    data = ChartData("Gap", START, START + dt.timedelta(hours=36), (2, 8), _hours(*readings))
    assert len(_classed(_parse(render_svg(data, tz=dt.UTC)), "polyline", "readings")) == 2


def test_a_period_without_readings_says_so() -> None:
    data = ChartData("Empty", START, START + dt.timedelta(days=7), (2, 8), [])
    root = _parse(render_svg(data, tz=dt.UTC))
    assert "No readings in this period" in _texts(root)
    assert "Nov 03" in _texts(root)


@pytest.mark.parametrize(
    ("span", "step"), [(6.0, 1.0), (10.0, 2.0), (0.6, 0.1), (40.0, 10.0), (13.0, 2.5)]
)
def test_axis_steps_are_round_numbers(span: float, step: float) -> None:
    assert nice_step(span) == pytest.approx(step)


def test_a_location_chart_shades_the_excursions_on_record(db: Database, tmp_path: Path) -> None:
    example: Example = make_example(db)
    path = write_log(tmp_path, "fridge.csv", [(0, 5.0), (30, 10.0), (90, 5.0), (120, 5.5)])
    import_log(db, example.people.tech, example.fridge, path)
    with later(), db.read_session() as session:
        fridge = session.get_one(Location, example.fridge.id)
        svg = location_chart(session, fridge, at(0), at(180), tz=dt.UTC)
    root = _parse(svg)
    assert len(_classed(root, "rect", "excursion")) == 1
    assert "IDS Fridge 1: temperature, allowed range 2 to 8 °C" in _texts(root)


def test_the_chart_in_the_docs_is_the_current_rendering_of_the_sample() -> None:
    assert DOCS_CHART.read_text(encoding="utf-8") == sample_chart(), (
        "docs/temperature-chart.svg is stale: run .venv/bin/python -m tests.storage.chart_sample"
    )


def _grey(colour: str) -> float:
    """The colour's luminance (0 black, 1 white), as a black-and-white printer sees it."""
    red, green, blue = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.299 * red + 0.587 * green + 0.114 * blue


def test_a_three_hour_excursion_in_four_months_prints_as_a_hatched_bar_not_a_hairline() -> None:
    end = START + dt.timedelta(days=120)
    excursion = (START + dt.timedelta(days=50), START + dt.timedelta(days=50, hours=3))
    svg = render_svg(
        ChartData(
            "Satellite fridge",
            START,
            end,
            (2.0, 8.0),
            _hours((0, 5.0), (24 * 120, 5.0)),
            excursions=[excursion],
        )
    )
    root = _parse(svg)
    (bar,) = _classed(root, "rect", "excursion")
    x, width = float(bar.get("x", 0)), float(bar.get("width", 0))
    assert width >= MIN_EXCURSION_WIDTH
    assert _grey(bar.get("stroke", "#ffffff")) < 0.4  # outlined dark
    hatching = [
        line
        for line in root.iter(f"{SVG}line")
        if x - 0.1 <= float(line.get("x1", -1)) <= x + width + 0.1
        and line.get("stroke") == bar.get("stroke")
        and line.get("y1") != line.get("y2")
    ]
    assert len(hatching) >= 10


def test_the_allowed_limits_are_dark_dashed_lines_and_the_band_is_pale() -> None:
    root = _parse(
        render_svg(
            ChartData("Shelf", START, START + dt.timedelta(hours=12), (2.0, 8.0), _hours((0, 5.0)))
        )
    )
    limits = _classed(root, "line", "limit")
    assert len(limits) == 2
    for limit in limits:
        assert limit.get("stroke-dasharray")
        assert _grey(limit.get("stroke", "#ffffff")) < 0.4
        assert float(limit.get("stroke-width", 0)) >= 1.5
    (band,) = _classed(root, "rect", "band")
    # Pale: the band's ink is a tenth of its colour, so the hatched excursion stands out.
    assert float(band.get("fill-opacity", 1)) <= 0.15
