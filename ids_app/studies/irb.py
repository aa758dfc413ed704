"""A study's IRB approval: its date, its expiry and the protocol version it approved.

Investigational drug is dispensed only under a current IRB approval (21 CFR 56.103,
56.109(f): continuing review at least yearly). The pharmacy records each approval or
renewal as the study team sends it; dispensing stops the day after it expires
(inventory.dispensing), and from 30 days before, the study's overview says so, so the
renewal arrives before subjects are turned away.

The expiry date is the last day the approval covers, as IRB letters state it ("approval
expires on 2027-03-01"): dispensing on that day is still covered.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from ids_app.audit.trail import attribute_changes
from ids_app.db import today
from ids_app.errors import InvalidInput
from ids_app.studies.models import Study
from ids_app.users.models import User
from ids_app.users.permissions import Action, require
from ids_app.wording import day_text

# How long before the expiry the study's screens warn (days).
WARNING_DAYS = 30


def record_irb_approval(
    session: Session,
    actor: User,
    study: Study,
    *,
    approved_on: dt.date,
    expires_on: dt.date,
    protocol_version: str,
    reason: str,
) -> Study:
    """Record the study's current IRB approval, or correct one recorded wrongly.

    Like a change of the study's status it decides whether drug may be dispensed, so it
    takes the same roles and a reason; each field changed is audited with its old value.
    """
    require(session, actor, Action.CHANGE_STUDY_STATUS, study=study)
    version = protocol_version.strip()
    if not version:
        raise InvalidInput("The protocol version is empty; type the version the IRB approved.")
    why = reason.strip()
    if not why:
        raise InvalidInput(
            "The reason is empty; say why the approval is recorded (e.g. 'annual renewal')."
        )
    if approved_on > today():
        raise InvalidInput(f"The IRB approval date {approved_on:%Y-%m-%d} is in the future.")
    if expires_on <= approved_on:
        raise InvalidInput(
            f"The approval expires on {expires_on:%Y-%m-%d}, not after it was given "
            f"({approved_on:%Y-%m-%d}); check both dates on the IRB letter."
        )
    attribute_changes(session, actor, reason=why)
    study.irb_approved_on = approved_on
    study.irb_expires_on = expires_on
    study.protocol_version = version
    session.flush()  # the audit entries carry the reason given now
    return study


def approval_text(study: Study) -> str:
    """The approval as the overview and the records' summaries give it: its dates and the
    protocol version approved, or "not recorded"."""
    if study.irb_approved_on is None or study.irb_expires_on is None:
        return "not recorded"
    version = f", protocol version {study.protocol_version}" if study.protocol_version else ""
    return (
        f"approved {day_text(study.irb_approved_on)}, expires "
        f"{day_text(study.irb_expires_on)}{version}"
    )


def approval_lapsed(study: Study, day: dt.date) -> str | None:
    """Why study drug may not be dispensed on ``day`` for want of IRB approval, or None.

    A study with no approval recorded is not stopped: approvals are recorded from this
    version on, and older studies keep dispensing until theirs is entered.
    """
    expires = study.irb_expires_on
    if expires is None or day <= expires:
        return None
    return (
        f"The IRB approval of study {study.protocol_number} expired on {expires:%Y-%m-%d}; "
        "study drug is not dispensed until the renewed approval is recorded."
    )


def approval_warning(study: Study, day: dt.date | None = None) -> str | None:
    """What the study's screens say about its IRB approval on ``day`` (today by default):
    from 30 days before the expiry, the days left; after it, that dispensing has stopped."""
    day = day or today()
    lapsed = approval_lapsed(study, day)
    if lapsed is not None:
        return lapsed
    expires = study.irb_expires_on
    if expires is None:
        return None
    left = (expires - day).days
    if left > WARNING_DAYS:
        return None
    when = "today" if left == 0 else "tomorrow" if left == 1 else f"in {left} days"
    version = f" (protocol version {study.protocol_version})" if study.protocol_version else ""
    return (
        f"The IRB approval of study {study.protocol_number}{version} expires on "
        f"{expires:%Y-%m-%d}, {when}; record the renewal before then, or dispensing stops."
    )
