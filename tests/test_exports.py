"""Formula injection (issue 15): every spreadsheet the application writes keeps text as
text. A provider, recipient, township, plan or contract whose every text field starts
like a formula is exported through every .xlsx route (pages and API twins); no cell of
any file is a formula, and the hostile text is there, as quoted text.
"""

from __future__ import annotations

import ast
import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

import procurement
from procurement.core.db import db
from procurement.core.office import csv_text, saved, workbook
from tests.helpers import in_app
from tests.performance.conftest import site  # noqa: F401 (fixture)
from tests.test_security import Caller

HOSTILE = '=WEBSERVICE("http://x")'
OTHER_STARTS = ("+1+WEBSERVICE(1)", "-1+WEBSERVICE(1)", "@SUM(1)")
MONTH = "2026-07"  # the month the contracts' recipients started


def _hostile_world(site) -> dict:  # noqa: F811 (the fixture's value)
    """Every text field that an export shows, made hostile (a formula, numbered where the
    column is unique)."""
    from procurement.contracts.models import Contract
    from procurement.plans.models import BudgetLine, PlanZone, PurchasePlan
    from procurement.providers.models import Provider
    from procurement.recipients.models import Recipient
    from procurement.regions.models import Region
    from procurement.settlements.models import Settlement

    fields = {
        Recipient: ("name", "village", "address", "phone"),
        Provider: ("name", "address", "legal_representative", "contact_name"),
        PurchasePlan: ("title",),
        PlanZone: ("name",),
        BudgetLine: ("description", "override_reason"),
        Region: ("name",),
    }
    for model, names in fields.items():
        key = sa.cast(model.code if model is Region else model.id, sa.String)
        value = sa.literal(HOSTILE) + key  # unique where the column must be
        db.session.execute(sa.update(model).values({name: value for name in names}))
    for contract in db.session.scalars(sa.select(Contract)):
        contract.number = f"=HYPERLINK({contract.id})"
    db.session.flush()
    return {
        "plan_id": site["plan"],
        "contract_id": site["contracts"][0],
        "settlement_id": db.session.scalar(sa.select(sa.func.min(Settlement.id))),
    }


def _xlsx_rules(app) -> list:
    return sorted(
        (rule for rule in app.url_map.iter_rules() if "xlsx" in rule.rule),
        key=lambda rule: rule.rule,
    )


def _formulas(data: bytes) -> list[str]:
    book = load_workbook(io.BytesIO(data))
    return [
        f"{sheet.title}!{cell.coordinate}={cell.value!r}"
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]


def _texts(data: bytes) -> list:
    book = load_workbook(io.BytesIO(data))
    return [
        cell
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, str)
    ]


def _download(officer: Caller, rule, ids: dict):
    path = re.sub(r"<(?:int:)?(\w+)>", lambda m: str(ids[m.group(1)]), rule.rule)
    path = re.sub(r"<any\([^)]*\):\w+>", "xlsx", path)
    api = path.startswith("/api/")
    if "POST" in rule.methods:
        if api:
            headers = {"Authorization": f"Bearer {officer.token}"}
            return officer.http.post(path, json={"month": MONTH}, headers=headers)
        return officer.client.http.post(path, data={"csrf_token": officer.csrf, "month": MONTH})
    query = f"?month={MONTH}" if "changes" in path else ""
    if api:
        return officer.http.get(path + query, headers={"Authorization": f"Bearer {officer.token}"})
    return officer.client.http.get(path + query)


def test_no_export_holds_a_formula_whatever_the_names(app, make_token, site):  # noqa: F811
    ids = in_app(app, lambda: _hostile_world(site))
    officer = Caller(app, "drafter", make_token("drafter"))
    rules = _xlsx_rules(app)
    # the plan, the statement, the monthly changes (masked and full ID numbers) and the
    # two import templates, each on a page and, but for the templates, in the API
    assert len(rules) >= 9, [rule.rule for rule in rules]
    for rule in rules:
        response = _download(officer, rule, ids)
        assert response.status_code == 200, (rule.rule, response.get_data(as_text=True)[:300])
        data = response.get_data()
        assert data.startswith(b"PK"), rule.rule
        assert _formulas(data) == [], rule.rule
        if "template" in rule.rule:
            continue  # no stored text in an empty template
        hostile = [c for c in _texts(data) if c.value.startswith(("=WEBSERVICE", "=HYPERLINK"))]
        assert hostile, f"{rule.rule}: the hostile text should be exported, as text"
        assert all(c.data_type == "s" and c.quotePrefix for c in hostile), rule.rule


def test_text_that_a_spreadsheet_reads_as_a_formula_stays_text():
    book = workbook()
    sheet = book.active
    sheet.append([HOSTILE, *OTHER_STARTS, "普通文字", 12])
    sheet["A2"] = "=1+1"  # by assignment too
    data = saved(book).getvalue()
    assert _formulas(data) == []
    cells = {c.coordinate: c for c in _texts(data)}
    assert cells["A1"].value == HOSTILE and cells["A2"].value == "=1+1"
    assert all(cells[f"{col}1"].quotePrefix for col in "ABCD")
    assert not cells["E1"].quotePrefix


def test_csv_fields_from_uploaded_files_are_not_formulas():
    assert csv_text(HOSTILE) == "'" + HOSTILE
    assert [csv_text(v) for v in OTHER_STARTS] == ["'" + v for v in OTHER_STARTS]
    assert csv_text("R-001") == "R-001" and csv_text(7) == 7


def test_every_workbook_is_written_through_the_one_helper():
    """openpyxl's Workbook is created in core/office.py only, so that every .xlsx leaves
    through ``saved`` (which makes it inert)."""
    root = Path(procurement.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        if path.name == "office.py" and path.parent.name == "core":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module == "openpyxl"
                and any(alias.name == "Workbook" for alias in node.names)
            ):
                offenders.append(str(path.relative_to(root)))
    assert offenders == []


@pytest.mark.parametrize("value", [HOSTILE, *OTHER_STARTS])
def test_saved_leaves_no_formula_in_any_sheet(value):
    book = workbook()
    book.create_sheet("second").append([value])
    assert _formulas(saved(book).getvalue()) == []
