"""The drug accountability record in the shape of CDISC's DA domain, as a CSV.

Sponsors' data managers load DA (CDASH collection, SDTM tabulation) without re-keying:
one row per finding per subject, DASEQ unique within each subject, DATESTCD at most 8
characters and DATEST at most 40 (DOMAIN.md). Amounts are in dose units (tablets, vials),
which is what a compliance check needs. No arm is ever written: DA carries none.

A return row's VISIT is the visit it came back at: the subject's visit with a dispense on
the day of the return (a subject brings the old kit to the visit that gives the next), else
UNSCHEDULED; DAREFID (the kit or dispense number) ties it to its dispense.

Every text field is neutralised (cells.py) and quoted, as OWASP's CSV-injection guidance
asks, so a kit number or a visit typed as "=…" is shown, never run, when the file is
opened in a spreadsheet; the numbers (DASEQ, DASTRESN) are left bare, so they stay numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from ids_app.reports.cells import cell_value
from ids_app.reports.common import dispense_id
from ids_app.reports.records import StudyRecord

DA_COLUMNS = (
    "STUDYID",
    "DOMAIN",
    "USUBJID",
    "DASEQ",
    "DAREFID",
    "DATESTCD",
    "DATEST",
    "DACAT",
    "DAORRES",
    "DAORRESU",
    "DASTRESC",
    "DASTRESN",
    "DASTRESU",
    "VISIT",
    "DADTC",
)
DISPENSED = ("DISPAMT", "Dispensed Amount")
RETURNED = ("RETAMT", "Returned Amount")
# CDISC's visit name for a return not brought to a dispensing visit.
UNSCHEDULED = "Unscheduled"
CATEGORY = "STUDY MEDICATION"


@dataclass(frozen=True)
class DaRow:
    studyid: str
    usubjid: str
    refid: str
    test: tuple[str, str]
    amount: int
    unit: str
    visit: str
    day: dt.date
    order: int  # on one day, what came back is counted before the next supply goes out

    def values(self, seq: int) -> list[str | int]:
        code, name = self.test
        unit = self.unit.upper()
        return [
            self.studyid,
            "DA",
            self.usubjid,
            seq,
            self.refid,
            code,
            name,
            CATEGORY,
            str(self.amount),
            unit,
            str(self.amount),
            self.amount,
            unit,
            self.visit.upper(),
            self.day.isoformat(),
        ]


def da_rows(record: StudyRecord) -> list[list[str | int]]:
    """Dispensed and returned amounts per subject, numbered DASEQ 1, 2, … within each."""
    studyid = record.study.protocol_number
    by_subject: defaultdict[str, list[DaRow]] = defaultdict(list)
    dispensed_ref: dict[int, str] = {}
    for d in record.dispensing:
        usubjid = f"{studyid}-{d.subject_code}"
        refid = d.kit_number or dispense_id(d.order_id)
        dispensed_ref[d.order_id] = refid
        by_subject[usubjid].append(
            DaRow(
                studyid,
                usubjid,
                refid,
                DISPENSED,
                d.dose_units,
                d.dose_unit,
                d.visit,
                d.dispensed_at.astimezone().date(),
                1,
            )
        )
    visit_on_day = {
        (d.subject_code, d.dispensed_at.astimezone().date()): d.visit for d in record.dispensing
    }
    for r in record.returns:
        usubjid = f"{studyid}-{r.subject_code}"
        refid = r.kit_number or dispensed_ref.get(r.order_id) or dispense_id(r.order_id)
        by_subject[usubjid].append(
            DaRow(
                studyid,
                usubjid,
                refid,
                RETURNED,
                r.units_counted,
                r.dose_unit,
                visit_on_day.get((r.subject_code, r.returned_on), UNSCHEDULED),
                r.returned_on,
                0,
            )
        )
    rows: list[list[str | int]] = []
    for usubjid in sorted(by_subject):
        ordered = sorted(by_subject[usubjid], key=lambda row: (row.day, row.order, row.refid))
        rows += [row.values(seq) for seq, row in enumerate(ordered, start=1)]
    return rows


def write_da_csv(record: StudyRecord, target: Path) -> int:
    """Write the DA rows to ``target``; returns how many rows were written."""
    rows = da_rows(record)
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow(DA_COLUMNS)
        writer.writerows([cell_value(value) for value in row] for row in rows)
    return len(rows)
