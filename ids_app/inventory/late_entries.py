"""Late entries: an event recorded after it happened, from a paper log kept during a downtime.

ALCOA+ asks for contemporaneous records; when the system is down the pharmacy keeps a
paper log and types it in afterwards (DOMAIN.md, "Late entries, downtime"). Every
recording service takes the time the event happened as an :class:`EventTime` and asks
:func:`when_it_happened` once; the time it is recorded is always now. An entry recorded
more than the study's delay after its event is a *late entry*: it carries its reason, is
never in the future, and never comes before an earlier recorded event of the same kit
(or, for stock counted in bulk, the same lot), so the ledger's order stays the order
things happened in. Because of that last rule, a kit's or lot's balance now is its
balance at the time of the late entry, and the stock checks the services already make
are the checks "as the records stood then".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.audit.trail import attribute_changes
from ids_app.db import today, utc_now
from ids_app.errors import IdsError, InvalidInput
from ids_app.inventory.models import Kit, LedgerEntry, Lot
from ids_app.studies.models import Study
from ids_app.users.models import User
from ids_app.users.permissions import Action, require

# A sensible default for a study that has not set its own: most sites' SOPs call an entry
# "late" when it is made more than an hour after the event.
DEFAULT_LATE_AFTER_MINUTES = 60


class LateEntryRefused(IdsError):
    """An event time the record cannot take: in the future, out of order, or late unexplained."""


@dataclass(frozen=True)
class EventTime:
    """When the event happened, as the person entering it says; ``None`` means now.

    ``late_reason`` says why it is entered late ("downtime 2026-03-02 06:00 to 09:30, from
    the paper log"); it is required only when the entry turns out to be late.
    """

    at: dt.datetime | None = None
    late_reason: str | None = None


NOW = EventTime()


@dataclass(frozen=True)
class Judged:
    """An event time accepted for the record: the moment and, for a late entry, its reason."""

    occurred_at: dt.datetime
    late_reason: str | None
    given: bool = False  # a person gave the time, rather than the event happening now

    @property
    def day(self) -> dt.date:
        """The pharmacy's (local) date of the event: the day its rules are judged on."""
        return self.occurred_at.astimezone().date()

    @property
    def given_at(self) -> dt.datetime | None:
        """The time a person gave for the event, or None for an event happening now: the
        rules that read the trail "as things stood then" need only the former."""
        return self.occurred_at if self.given else None


def late_after(study: Study) -> dt.timedelta:
    """The study's delay after which an entry is late (its own, or the site's default)."""
    minutes = study.late_entry_minutes
    return dt.timedelta(
        minutes=DEFAULT_LATE_AFTER_MINUTES if minutes is None else minutes,
    )


def set_late_entry_delay(
    session: Session, actor: User, study: Study, minutes: int, reason: str
) -> Study:
    """Set the study's delay after which an entry is late (per study: an oral study's
    pharmacy may enter a dispense within the hour, an infusion study's SOP may ask for 15
    minutes). It decides which entries need a reason, so it takes the roles and a reason
    a change of the study's status takes, and is audited with its old value."""
    require(session, actor, Action.CHANGE_STUDY_STATUS, study=study)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 7 * 24 * 60:
        raise InvalidInput("The delay is a whole number of minutes, from 1 to a week (10080).")
    why = reason.strip()
    if not why:
        raise InvalidInput("The reason is empty; say why the delay changes (e.g. 'SOP 12 v3').")
    attribute_changes(session, actor, reason=why)
    study.late_entry_minutes = minutes
    session.flush()  # the audit entry carries the reason given now
    return study


def when_it_happened(
    session: Session,
    study: Study,
    when: EventTime | None,
    *,
    kit: Kit | None = None,
    lot: Lot | None = None,
    not_before: dt.datetime | None = None,
    what: str = "this",
) -> Judged:
    """Check the time an event happened and say whether its entry is late.

    ``kit`` (or, for bulk stock, ``lot``) names the stock whose recorded events it may not
    come before; ``not_before`` is an earlier step of the same record (an order prepared
    before it was ordered is refused). ``what`` names the event in a refusal.
    """
    now = utc_now()
    if when is None or when.at is None:
        return Judged(now, None)
    at = when.at
    if at.tzinfo is None:
        raise LateEntryRefused("Give the time it happened with its time zone.")
    at = at.astimezone(dt.UTC)
    if at > now:
        raise LateEntryRefused(
            f"The time given for {what} ({_local(at)}) is in the future; give the time it happened."
        )
    reason = (when.late_reason or "").strip() or None
    if now - at > late_after(study):
        if reason is None:
            raise LateEntryRefused(
                f"{what.capitalize()} happened at {_local(at)}, more than "
                f"{_minutes(late_after(study))} ago: it is a late entry. Give the reason it is "
                "entered late (for example, the downtime and the paper log it comes from)."
            )
    else:
        reason = None  # a timely entry is not marked late
    if not_before is not None and at < not_before:
        raise LateEntryRefused(
            f"{what.capitalize()} cannot have happened at {_local(at)}, before the step "
            f"recorded before it ({_local(not_before)})."
        )
    judged = Judged(at, reason, given=True)
    after_last_record(session, judged, kit=kit, lot=lot)
    return judged


def after_last_record(
    session: Session, judged: Judged, *, kit: Kit | None = None, lot: Lot | None = None
) -> None:
    """Refuse a time given that goes before the kit's (or bulk lot's) last record, so the
    ledger's order stays the order things happened in; an event happening now never does.
    A record of several kits or lots (a receipt, a disposal) asks it for each."""
    if not judged.given:
        return
    last, named = _last_event(session, kit, lot)
    if last is not None and judged.occurred_at < last:
        raise LateEntryRefused(
            f"{named} already has a later record ({_local(last)}); an entry at "
            f"{_local(judged.occurred_at)} cannot go before it. Enter the paper log in the "
            "order things happened."
        )


def happened_on(
    session: Session,
    study: Study,
    day: dt.date,
    when: EventTime | None,
    *,
    kit: Kit | None = None,
    lot: Lot | None = None,
    what: str = "this",
) -> Judged:
    """The time of an event whose record also keeps its date (a shipment's date received, a
    destruction's date performed). Dated today without a time, it happens now. Dated
    earlier, it is an entry made after its day: it needs the time it happened (from the
    paper record), is judged as any event time (a reason when late, never before the kit's
    or lot's later records) and must fall on that date, so the record never says two days."""
    if when is None or when.at is None:
        if day < today():
            raise LateEntryRefused(
                f"{what.capitalize()} is dated {day:%Y-%m-%d}, before today: give the time it "
                "happened, from the paper record, and the reason it is entered late."
            )
        return Judged(utc_now(), None)
    judged = when_it_happened(session, study, when, kit=kit, lot=lot, what=what)
    if judged.day != day:
        raise LateEntryRefused(
            f"The date of {what} ({day:%Y-%m-%d}) and the time it happened "
            f"({_local(judged.occurred_at)}) are on different days; correct one of them."
        )
    return judged


def _last_event(
    session: Session, kit: Kit | None, lot: Lot | None
) -> tuple[dt.datetime | None, str]:
    if kit is not None:
        condition = LedgerEntry.kit_id == kit.id
        named = f"Kit {kit.kit_number}"
    elif lot is not None:
        condition = (LedgerEntry.lot_id == lot.id) & LedgerEntry.kit_id.is_(None)
        named = f"Lot {lot.lot_number}"
    else:
        return None, ""
    last = session.scalar(
        select(LedgerEntry.occurred_at)
        .where(condition)
        .order_by(LedgerEntry.occurred_at.desc())
        .limit(1)
    )
    return last, named


def _local(moment: dt.datetime) -> str:
    return f"{moment.astimezone():%Y-%m-%d %H:%M}"


def _minutes(delay: dt.timedelta) -> str:
    minutes = int(delay.total_seconds() // 60)
    return "1 minute" if minutes == 1 else f"{minutes} minutes"
