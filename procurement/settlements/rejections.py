"""Why an import refuses a row: the reasons, the first reason of each row, and the refused
rows kept with the import (and given back as CSV for the platform to correct)."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    select,
)

from procurement.core.db import db
from procurement.core.office import csv_text
from procurement.settlements import storage
from procurement.settlements.models import (
    ImportRejection,
    RecordImport,
)

REJECTIONS = {
    "bad_row": _l("The line does not have the file's number of cells"),
    "missing_field": _l("A required cell is empty"),
    "bad_record_id": _l("The record id is longer than 64 characters"),
    "bad_worker_id": _l("The worker id is longer than 64 characters"),
    "bad_id_number": _l("Not a valid ID number"),
    "unknown_recipient": _l("Not on the recipient roster"),
    "unknown_provider": _l("No provider with this credit code in your region"),
    "bad_start": _l("The start time is not a valid date and time"),
    "bad_end": _l("The end time is not a valid date and time"),
    "end_before_start": _l("The visit ends before it starts"),
    "future_visit": _l("The visit ends after the present time (China time)"),
    "no_contract": _l("No signed contract of this provider covers the visit's date"),
    "unknown_township": _l("Not a township of the contract's county"),
    "unknown_item": _l("Not an item of the service catalogue"),
    "duplicate_in_file": _l("The same record id appears earlier in this file"),
    "month_confirmed": _l("The month's statement was already confirmed by finance"),
}


def rejection_label(code: str) -> str:
    return str(REJECTIONS.get(code, code))


class Verdicts:
    """The first reason each row is refused for (rows keep their first reason)."""

    def __init__(self, n: int) -> None:
        self.reason = np.full(n, "", dtype=object)
        self.detail = np.full(n, "", dtype=object)

    @property
    def open(self) -> np.ndarray:
        return self.reason == ""

    def refuse(self, mask, code: str, detail=None) -> None:
        mask = np.asarray(mask, dtype=bool) & self.open
        self.reason[mask] = code
        if detail is not None:
            self.detail[mask] = np.asarray(detail, dtype=object)[mask]


def reason_counts(verdict: Verdicts, bad_rows: list) -> dict[str, int]:
    counts = pd.Series(verdict.reason[~verdict.open]).value_counts().to_dict()
    if bad_rows:
        counts["bad_row"] = len(bad_rows)
    return {str(k): int(v) for k, v in counts.items()}


def store_rejections(import_id: int, rows: pd.DataFrame, verdict: Verdicts, bad_rows) -> None:
    refused = np.flatnonzero(~verdict.open)
    values = [
        (
            import_id,
            int(rows["row"].iat[i]),
            rows["record_id"].iat[i][:64],
            verdict.reason[i],
            _detail(verdict, i),
        )
        for i in refused
    ]
    values += [
        (import_id, number or 0, "", "bad_row", _("%(n)d cells", n=cells))
        for number, cells in bad_rows
    ]
    storage.raw_insert(
        ImportRejection.__table__.name,
        ("import_id", "row", "record_id", "reason", "detail"),
        values,
    )


def _detail(verdict: Verdicts, i: int) -> str:
    return str(verdict.detail[i] or "")[:200]


def rejections_csv(batch: RecordImport) -> bytes:
    """The rejected rows of an import, for the platform operator to correct."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Row"), _("Record id"), _("Reason"), _("Detail")])
    for row in db.session.scalars(
        select(ImportRejection)
        .where(ImportRejection.import_id == batch.id)
        .order_by(ImportRejection.row)
    ):
        # record ids and details come from the platform's file: never a formula
        writer.writerow(
            [row.row, csv_text(row.record_id), rejection_label(row.reason), csv_text(row.detail)]
        )
    return ("\ufeff" + out.getvalue()).encode()
