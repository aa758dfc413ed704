"""HTML templates (Jinja2) and their rendering to PDF (WeasyPrint).

The environment is set up once, with autoescape and ``StrictUndefined``: a value missing
from a report is an error, never a blank on a record an inspector reads (ALCOA+: complete).
WeasyPrint is imported only when a PDF is made: importing it costs about half a second.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from ids_app.inventory.returns import compliance_concern
from ids_app.reports.common import held_summary
from ids_app.wording import percent_text, quantity_text

TEMPLATES = Path(__file__).with_name("templates")
DASH = "—"
MINUS = "\u2212"


def local_time(moment: dt.datetime | None) -> str:
    """An instant in the pharmacy's local time, as signatures show it (21 CFR 11.50)."""
    if moment is None:
        return DASH
    local = moment.astimezone()
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def day(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return DASH
    if isinstance(value, dt.datetime):
        value = value.astimezone().date()
    return f"{value:%Y-%m-%d}"


def or_dash(value: object) -> object:
    """No blank fields on the record (NCI audit checklist): a dash says "not applicable"."""
    return DASH if value is None or value == "" else value


def signed(value: int | None) -> str:
    """A quantity change with its sign: +3, and a true minus sign (U+2212) for -2, legible
    in print."""
    if value is None or value == 0:
        return ""
    return f"+{value}" if value > 0 else f"{MINUS}{-value}"


def celsius(value: float | None, digits: int | None = None) -> str:
    """A temperature as recorded (7.778 °C), or to ``digits`` decimals for a computed one
    (MKT); with a true minus sign (U+2212), legible in print."""
    if value is None:
        return DASH
    text = f"{value:g}" if digits is None else f"{value:.{digits}f}"
    return f"{text.replace('-', MINUS)} °C"


def percent(share: float | None) -> str:
    """A share as a percentage; below 0.1 % it says so rather than "0.0 %"."""
    if share is None:
        return DASH
    if 0 < share < 0.001:
        return "under 0.1 %"
    return f"{share * 100:.1f} %"


def css_string(value: object) -> Markup:
    """A value as a CSS string literal, for running headers in ``@page`` rules."""
    text = str(value)
    escaped = "".join(
        ch if ch.isalnum() or ch in " .,:;-_/()#+&" else f"\\{ord(ch):x} " for ch in text
    )
    return Markup(f'"{escaped}"')


@functools.cache
def environment() -> jinja2.Environment:
    """The one template environment of the reports."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        local_time=local_time,
        day=day,
        or_dash=or_dash,
        signed=signed,
        css_string=css_string,
        quantity=quantity_text,
        celsius=celsius,
        percent=percent,
        percent_text=percent_text,
        compliance_concern=compliance_concern,
        held_summary=held_summary,
    )
    return env


def render_html(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


# Every report is archival: PDF/A-3b (fonts embedded, sRGB output intent, XMP identity),
# the variant that may also carry the data it presents as attached files (archival.py).
PDF_VARIANT = "pdf/a-3b"


def write_pdf(html: str, target: Path) -> int:
    """Lay out ``html`` and write it as a PDF/A-3b file; returns the number of pages."""
    import weasyprint

    document = weasyprint.HTML(string=html, base_url=str(TEMPLATES)).render()
    document.write_pdf(target, pdf_variant=PDF_VARIANT)
    return len(document.pages)
