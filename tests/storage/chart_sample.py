"""The demo-like chart in docs/temperature-chart.svg, and how to draw it again.

Two weeks of a 2-8 °C pharmacy fridge logged every 15 minutes: the compressor's cycle,
door openings, and a power cut that kept it above 8 °C for 3 h 30 min, up to 11.4 °C
(like the demo's satellite fridge). Regenerate it with
``.venv/bin/python -m tests.storage.chart_sample``; tests/storage/test_chart.py checks
that the file matches.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from zoneinfo import ZoneInfo

from ids_app.storage.chart import ChartData, render_svg
from ids_app.storage.excursions import out_of_range_runs

DOCS_CHART = Path(__file__).resolve().parents[2] / "docs" / "temperature-chart.svg"
ZONE = ZoneInfo("America/New_York")
START = dt.datetime(2026, 11, 9, tzinfo=ZONE).astimezone(dt.UTC)
DAYS = 14
LOW, HIGH = 2.0, 8.0
POWER_CUT = (9 * 96 + 10 * 4, 9 * 96 + 10 * 4 + 13)  # day 9, 10:00 local; 13 readings


def _noise(index: int) -> float:
    """A fixed, repeatable wobble (no random module: the file must not change)."""
    return math.sin(index * 12.9898) * 43758.5453 % 1.0 - 0.5


def sample_points() -> list[tuple[dt.datetime, float]]:
    points = []
    for index in range(DAYS * 96):
        celsius = 5.0 + 0.4 * math.sin(index * 2 * math.pi / 12) + 0.3 * _noise(index)
        if index % 96 in (36, 60) and index % 7 != 3:  # door opened for the morning round
            celsius += 1.4
        first, last = POWER_CUT
        if first <= index <= last:
            celsius = 8.6 + 2.8 * math.sin((index - first) / (last - first) * math.pi)
        points.append((START + dt.timedelta(minutes=15 * index), round(celsius, 1)))
    return points


def sample_chart() -> str:
    points = sample_points()
    runs = [
        run
        for run in out_of_range_runs(points, LOW, HIGH)
        if run.duration >= dt.timedelta(minutes=30)
    ]
    data = ChartData(
        title="IDS Fridge 1: temperature, allowed range 2 to 8 °C",
        start=START,
        end=START + dt.timedelta(days=DAYS),
        band=(LOW, HIGH),
        points=points,
        excursions=[(run.started_at, run.ended_at) for run in runs],
    )
    return render_svg(data, tz=ZONE)


if __name__ == "__main__":
    DOCS_CHART.write_text(sample_chart(), encoding="utf-8")
    print(f"wrote {DOCS_CHART}")
