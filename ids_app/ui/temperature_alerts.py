"""The storage alerts the overview shows: open excursions, and locations whose daily
reading is missing today (storage.queries)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ids_app.inventory.models import Location
from ids_app.storage.queries import locations_missing_reading, open_excursions


def storage_alert_text(session: Session) -> str:
    """One line for the overview; "" when storage needs nothing."""
    parts = []
    excursions = open_excursions(session)
    if excursions:
        places = sorted(
            {
                session.get_one(Location, e.location_id).name
                for e in excursions
                if e.location_id is not None
            }
        )
        where = f" ({', '.join(places)})" if places else ""
        count = len(excursions)
        parts.append(f"{count} open temperature excursion{'' if count == 1 else 's'}{where}")
    missing = [location.name for location in locations_missing_reading(session)]
    if missing:
        parts.append(f"no temperature reading yet today at {', '.join(missing)}")
    return ("Storage: " + "; ".join(parts) + ". See the Temperature tab.") if parts else ""
