"""A location's temperature chart as SVG text: readings, the allowed band, excursions hatched.

Pure Python and standard library, no Qt: the binder embeds the text in its HTML
(WeasyPrint draws inline SVG) and a screen can show it with QSvgRenderer. Times are
labelled in the zone given (the workstation's by default); the axis title names it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from sqlalchemy.orm import Session

from ids_app.db import utc_now
from ids_app.inventory.models import Location
from ids_app.storage.mkt import location_points
from ids_app.storage.queries import excursions_at

Point = tuple[dt.datetime, float]

# Printed in black and white the chart must still read: the readings a dark solid line,
# the allowed band a pale plain fill between dark dashed limits, an excursion hatched
# with a dark outline and never narrower than MIN_EXCURSION_WIDTH, however short.
READINGS_COLOUR = "#1f4e79"
BAND_COLOUR = "#2e7d32"
BAND_FILL_OPACITY = "0.10"
LIMIT_COLOUR = "#1b5e20"
LIMIT_DASHES = "7 4"
EXCURSION_COLOUR = "#c62828"
EXCURSION_FILL_OPACITY = "0.12"
HATCH_SPACING = 5.0
MIN_EXCURSION_WIDTH = 6.0
AXIS_COLOUR = "#444444"
GRID_COLOUR = "#dddddd"
FONT = "DejaVu Sans, Arial, Helvetica, sans-serif"
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 58, 24, 44, 46
CHARACTER_WIDTH = 6.2  # an 11 px sans-serif character, on average
MARKERS_UP_TO = 60  # readings; more than this draw as a line only
TIME_STEPS = tuple(
    dt.timedelta(hours=hours)
    for hours in (0.25, 0.5, 1, 2, 3, 6, 12, 24, 48, 7 * 24, 14 * 24, 28 * 24)
)
MOST_TIME_TICKS = 8


@dataclass(frozen=True)
class ChartData:
    """What a chart shows; times are timezone-aware."""

    title: str
    start: dt.datetime
    end: dt.datetime
    band: tuple[float, float]
    points: Sequence[Point]
    excursions: Sequence[tuple[dt.datetime, dt.datetime]] = field(default_factory=tuple)


def nice_step(span: float, ticks: int = 6) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about ``ticks`` ticks."""
    raw = max(span, 1e-9) / ticks
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= factor * power:
            return factor * power
    return 10.0 * power


def _time_ticks(
    start: dt.datetime, end: dt.datetime, tz: dt.tzinfo
) -> tuple[list[dt.datetime], str]:
    span = end - start
    step = next((s for s in TIME_STEPS if span / s <= MOST_TIME_TICKS), TIME_STEPS[-1])
    local = start.astimezone(tz)
    if step >= dt.timedelta(days=1):
        first = local.replace(hour=0, minute=0, second=0, microsecond=0)
        label = "%b %d"
    else:
        minutes = int(step.total_seconds() // 60)
        of_day = (local.hour * 60 + local.minute) // minutes * minutes
        first = local.replace(hour=of_day // 60, minute=of_day % 60, second=0, microsecond=0)
        label = "%H:%M"
    ticks = []
    tick = first
    while tick <= end:
        if tick >= start:
            ticks.append(tick)
        tick = (tick + step).astimezone(tz)
    return ticks, label


def _number(value: float) -> str:
    return f"{value:.1f}"


def _text(x: float, y: float, content: str, **attributes: str) -> str:
    extra = "".join(f" {name.replace('_', '-')}={quoteattr(v)}" for name, v in attributes.items())
    return f'<text x="{_number(x)}" y="{_number(y)}"{extra}>{escape(content)}</text>'


def _segments(points: Sequence[Point]) -> list[list[Point]]:
    """Break the line at a gap much longer than the usual interval: no reading, no line."""
    if len(points) < 2:
        return [list(points)] if points else []
    gaps = [(b[0] - a[0]).total_seconds() for a, b in itertools.pairwise(points)]
    longest = max(6 * statistics.median(gaps), 2 * 3600)
    segments: list[list[Point]] = [[points[0]]]
    for gap, point in zip(gaps, points[1:], strict=True):
        if gap > longest:
            segments.append([])
        segments[-1].append(point)
    return segments


def render_svg(
    data: ChartData, *, tz: dt.tzinfo | None = None, width: int = 720, height: int = 320
) -> str:
    """The chart as a standalone SVG document (UTF-8 text)."""
    zone = tz or data.start.astimezone().tzinfo or dt.UTC
    left, right = MARGIN_LEFT, width - MARGIN_RIGHT
    top, bottom = MARGIN_TOP, height - MARGIN_BOTTOM
    low, high = data.band
    values = [low, high, *(celsius for _, celsius in data.points)]
    step = nice_step(max(values) - min(values) or 1.0)
    y_min = math.floor((min(values) - step / 2) / step) * step
    y_max = math.ceil((max(values) + step / 2) / step) * step
    seconds = max((data.end - data.start).total_seconds(), 1.0)

    def x_of(when: dt.datetime) -> float:
        share = (when - data.start).total_seconds() / seconds
        return left + min(max(share, 0.0), 1.0) * (right - left)

    def y_of(celsius: float) -> float:
        return bottom - (celsius - y_min) / (y_max - y_min) * (bottom - top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family={quoteattr(FONT)} font-size="11">',
        f"<title>{escape(data.title)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        _text(left, 16, data.title, font_size="13", font_weight="bold", fill=AXIS_COLOUR),
    ]
    # The allowed band, then excursions over it, then grid, line and axes on top.
    parts.append(
        f'<rect class="band" x="{_number(left)}" y="{_number(y_of(high))}" '
        f'width="{_number(right - left)}" height="{_number(y_of(low) - y_of(high))}" '
        f'fill="{BAND_COLOUR}" fill-opacity="{BAND_FILL_OPACITY}"/>'
    )
    for limit in (low, high):
        parts.append(
            f'<line class="limit" x1="{_number(left)}" x2="{_number(right)}" '
            f'y1="{_number(y_of(limit))}" y2="{_number(y_of(limit))}" stroke="{LIMIT_COLOUR}" '
            f'stroke-dasharray="{LIMIT_DASHES}" stroke-width="1.6"/>'
        )
    for started, ended in data.excursions:
        if ended < data.start or started > data.end:
            continue
        x1, x2 = x_of(started), x_of(ended)
        if x2 - x1 < MIN_EXCURSION_WIDTH:
            # A 3-hour excursion in a 4-month chart is under a pixel: widen it about its
            # middle, within the plot, so it is seen (the table below gives its times).
            middle = min(
                max((x1 + x2) / 2, left + MIN_EXCURSION_WIDTH / 2), right - MIN_EXCURSION_WIDTH / 2
            )
            x1, x2 = middle - MIN_EXCURSION_WIDTH / 2, middle + MIN_EXCURSION_WIDTH / 2
        parts.extend(_excursion_bar(x1, x2, top, bottom))
    tick = y_min
    while tick <= y_max + step / 1000:
        y = y_of(tick)
        parts.append(
            f'<line x1="{_number(left)}" x2="{_number(right)}" y1="{_number(y)}" '
            f'y2="{_number(y)}" stroke="{GRID_COLOUR}" stroke-width="0.5"/>'
        )
        parts.append(_text(left - 6, y + 4, f"{tick:g}", text_anchor="end", fill=AXIS_COLOUR))
        tick += step
    ticks, label = _time_ticks(data.start, data.end, zone)
    for when in ticks:
        x = x_of(when)
        parts.append(
            f'<line x1="{_number(x)}" x2="{_number(x)}" y1="{_number(bottom)}" '
            f'y2="{_number(bottom + 4)}" stroke="{AXIS_COLOUR}"/>'
        )
        text = when.strftime(label)
        # A label at the right edge ends at its tick, so it stays inside the image.
        anchor = "end" if x + CHARACTER_WIDTH * len(text) / 2 > width else "middle"
        parts.append(_text(x, bottom + 16, text, text_anchor=anchor, fill=AXIS_COLOUR))
    for segment in _segments([p for p in data.points if data.start <= p[0] <= data.end]):
        coordinates = " ".join(f"{_number(x_of(t))},{_number(y_of(c))}" for t, c in segment)
        parts.append(
            f'<polyline class="readings" points="{coordinates}" fill="none" '
            f'stroke="{READINGS_COLOUR}" stroke-width="1.5" stroke-linejoin="round"/>'
        )
    if len(data.points) <= MARKERS_UP_TO:
        for when, celsius in data.points:
            if data.start <= when <= data.end:
                parts.append(
                    f'<circle class="reading" cx="{_number(x_of(when))}" '
                    f'cy="{_number(y_of(celsius))}" r="2.2" fill="{READINGS_COLOUR}"/>'
                )
    if not data.points:
        parts.append(
            _text(
                (left + right) / 2,
                (top + bottom) / 2,
                "No readings in this period",
                text_anchor="middle",
                fill=AXIS_COLOUR,
            )
        )
    parts.append(f'<path d="M{left} {top} V{bottom} H{right}" fill="none" stroke="{AXIS_COLOUR}"/>')
    zone_name = ticks[0].tzname() if ticks else data.start.astimezone(zone).tzname()
    parts.append(_text((left + right) / 2, height - 8, f"Time ({zone_name})", text_anchor="middle"))
    middle = (top + bottom) / 2
    parts.append(
        _text(
            14,
            middle,
            "Temperature (°C)",
            text_anchor="middle",
            transform=f"rotate(-90 14 {_number(middle)})",
        )
    )
    parts.extend(_legend(right, low, high))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _hatch(x1: float, x2: float, top: float, bottom: float) -> list[str]:
    """Diagonal lines filling a rectangle, computed rather than an SVG <pattern>: the
    screen's QSvgRenderer (SVG Tiny) draws no patterns."""
    width, height = x2 - x1, bottom - top
    lines = []
    k = HATCH_SPACING / 2
    while k < width + height:
        # The line u + v = k in the rectangle's own coordinates (u across, v down).
        u_start, u_end = max(0.0, k - height), min(width, k)
        lines.append(
            f'<line x1="{_number(x1 + u_start)}" y1="{_number(top + k - u_start)}" '
            f'x2="{_number(x1 + u_end)}" y2="{_number(top + k - u_end)}" '
            f'stroke="{EXCURSION_COLOUR}" stroke-width="0.9"/>'
        )
        k += HATCH_SPACING
    return lines


def _excursion_bar(
    x1: float, x2: float, top: float, bottom: float, css_class: str = "excursion"
) -> list[str]:
    """An excursion: a pale fill, hatched, outlined; unlike the band in any print."""
    return [
        f'<rect class="{css_class}" x="{_number(x1)}" y="{_number(top)}" '
        f'width="{_number(x2 - x1)}" height="{_number(bottom - top)}" '
        f'fill="{EXCURSION_COLOUR}" fill-opacity="{EXCURSION_FILL_OPACITY}" '
        f'stroke="{EXCURSION_COLOUR}" stroke-width="1"/>',
        *_hatch(x1, x2, top, bottom),
    ]


def _legend(right: float, low: float, high: float) -> list[str]:
    """Readings, band and excursion keys, laid out right-aligned above the plot."""
    y = 32
    items = [
        ("line", READINGS_COLOUR, "Readings"),
        ("band", BAND_COLOUR, f"Allowed {low:g} to {high:g} °C"),
        ("excursion", EXCURSION_COLOUR, "Excursion"),
    ]
    widths = [22 + CHARACTER_WIDTH * len(label) + 14 for _, _, label in items]
    x = right - sum(widths)
    parts = []
    for (kind, colour, label), width in zip(items, widths, strict=True):
        if kind == "line":
            parts.append(
                f'<line x1="{_number(x)}" x2="{_number(x + 16)}" y1="{y - 4}" y2="{y - 4}" '
                f'stroke="{colour}" stroke-width="1.5"/>'
            )
        elif kind == "band":
            parts.append(
                f'<rect x="{_number(x + 2)}" y="{y - 9}" width="14" height="10" '
                f'fill="{colour}" fill-opacity="{BAND_FILL_OPACITY}"/>'
            )
            for edge in (y - 9, y + 1):
                parts.append(
                    f'<line x1="{_number(x + 2)}" x2="{_number(x + 16)}" y1="{edge}" '
                    f'y2="{edge}" stroke="{LIMIT_COLOUR}" stroke-dasharray="3 2" '
                    'stroke-width="1.6"/>'
                )
        else:
            parts.extend(_excursion_bar(x + 2, x + 16, y - 9, y + 1, "key"))
        parts.append(_text(x + 22, y, label))
        x += width
    return parts


def location_chart(
    session: Session,
    location: Location,
    start: dt.datetime,
    end: dt.datetime,
    *,
    tz: dt.tzinfo | None = None,
    width: int = 720,
    height: int = 320,
) -> str:
    """The chart of a location over [start, end), for the binder and the temperature view."""
    end = min(end, utc_now())
    readings, _ = location_points(session, location, start, end)
    data = ChartData(
        title=f"{location.name}: temperature, allowed range {location.range_text}",
        start=start,
        end=end,
        band=(location.storage_min_c, location.storage_max_c),
        points=[(reading.taken_at, reading.temperature_c) for reading in readings],
        excursions=[
            (excursion.started_at, excursion.ended_at)
            for excursion in excursions_at(session, location, start, end)
        ],
    )
    return render_svg(data, tz=tz, width=width, height=height)
