"""What each kind of job does, and who may ask for it and see it.

A handler takes the job's parameters and a ``progress`` callable, does its work in the
current transaction (the runner commits it with the job's outcome; then calls the kind's
``after``, if any, with the parameters: a staged file removed) and returns the
result the job's page shows: a ``summary``, and optionally a ``download`` (a stored blob),
``links`` (endpoint and values, made into URLs when shown) and ``api`` (the endpoint of
what the job made, as JSON: an import's report).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app, g, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from procurement.core.audit import record
from procurement.core.files import store_blob
from procurement.core.office import XLSX

Handler = Callable[[dict[str, Any], Callable[..., None]], dict[str, Any]]


@dataclass(frozen=True)
class Kind:
    name: str
    title: Any  # a lazy string
    permission: str  # to ask for it; its result is seen with the same permission
    handler: Handler
    after: Callable[[dict[str, Any]], None] | None = None  # once the work is committed


def _plan(params: dict[str, Any]):
    from procurement.plans.services import get_plan

    return get_plan(params["plan_id"])


def generate_plan_contracts(params: dict[str, Any], progress) -> dict[str, Any]:
    from procurement.contracts import services as contracts

    made = contracts.generate_all(_plan(params), actor=g.user, progress=progress)
    return {
        "summary": _("%(n)d contracts were generated.", n=len(made)),
        "links": [
            {"endpoint": "contracts.show", "values": {"contract_id": c.id}, "label": c.number}
            for c in made
        ],
    }


def archive_plan_contracts(params: dict[str, Any], progress) -> dict[str, Any]:
    from procurement.contracts import services as contracts

    plan = _plan(params)
    made = contracts.contracts_of(plan)
    if not made:
        from procurement.core.errors import ValidationError

        raise ValidationError(_("The plan has no contracts yet."))
    with_pdf = contracts.pdf_converter() is not None
    archive = contracts.plan_archive(plan, made, with_pdf=with_pdf, progress=progress)
    summary = _("%(n)d contracts are in the archive.", n=len(made))
    if not with_pdf:
        summary += " " + _(
            "PDF copies need LibreOffice on the server; the archive holds .docx files."
        )
    return {
        "summary": summary,
        "download": {
            "blob": store_blob(archive.getvalue()),
            "filename": f"{plan.region.name}{plan.year}年购买服务合同-计划{plan.id}.zip",
            "mimetype": "application/zip",
        },
    }


def import_service_records(params: dict[str, Any], progress) -> dict[str, Any]:
    from procurement.settlements import services as settlements

    batch = settlements.run_import_job(params, actor=g.user, progress=progress)
    return {
        "summary": _(
            "%(accepted)d records imported, %(already)d imported before, %(rejected)d rejected.",
            accepted=batch.accepted,
            already=batch.already_imported,
            rejected=batch.rejected,
        ),
        "links": [
            {
                "endpoint": "settlements.import_report",
                "values": {"import_id": batch.id},
                "label": _("Import report"),
            }
        ],
        "api": {"endpoint": "api.get_import", "values": {"import_id": batch.id}},
    }


def export_ledger(params: dict[str, Any], progress) -> dict[str, Any]:
    from procurement.payments import exports
    from procurement.payments.ledger import LedgerFilter, ledger

    progress("gathered", 0, 2)
    book = ledger(LedgerFilter(**params["filters"]))
    progress("written", 1, 2)
    data = exports.ledger_xlsx(book).getvalue()
    progress("written", 2, 2)
    return _export("ledger", params, data, exports.filename())


def export_shortfalls(params: dict[str, Any], progress) -> dict[str, Any]:
    from procurement.core.dates import month_of
    from procurement.settlements import delivery, exports

    month = month_of(params["month"])
    progress("gathered", 0, 2)
    found = delivery.month_shortfalls(month, provider_id=params["provider_id"], people=True)
    progress("written", 1, 2)
    data = exports.shortfall_xlsx(month, found).getvalue()
    progress("written", 2, 2)
    return _export("under_delivery", params, data, exports.shortfall_filename(month))


def _export(entity_type: str, params: dict[str, Any], data: bytes, filename: str) -> dict:
    """An export's file to download, audited as the request that asked for it."""
    record(
        "export",
        entity_type=entity_type,
        entity_id=filename,
        region_code=g.user.region_code,
        after={**params, "filename": filename},
    )
    return {
        "summary": _("The file is ready: %(filename)s", filename=filename),
        "download": {"blob": store_blob(data), "filename": filename, "mimetype": XLSX},
    }


def ocds_year_package(params: dict[str, Any], progress) -> dict[str, Any]:
    import json

    from procurement.public.ocds import year_package
    from procurement.regions.services import get_region

    year = params["year"]
    region = get_region(params["region_code"])
    # The package's links are absolute: built as under the request that asked for it.
    with current_app.test_request_context(base_url=params["base_url"]):
        uri = url_for("api.create_ocds_package", year=year, _external=True)
        package = year_package(
            year,
            uri=uri,
            publisher=region,
            progress=lambda done, total: progress("releases", done, total),
        )
    data = json.dumps(package, ensure_ascii=False, indent=2).encode()
    return {
        "summary": _("%(n)d plans are in the package.", n=len(package["releases"])),
        "download": {
            "blob": store_blob(data),
            "filename": f"{region.name}{year}年OCDS发布包.json",
            "mimetype": "application/json",
        },
    }


def import_recipients(params: dict[str, Any], progress) -> dict[str, Any]:
    from procurement.core import staging
    from procurement.recipients.io import STAGED

    return staging.run_job(STAGED, params, progress, register="recipients.index")


def import_providers(params: dict[str, Any], progress) -> dict[str, Any]:
    from procurement.core import staging
    from procurement.providers.io import STAGED

    return staging.run_job(STAGED, params, progress, register="providers.index")


def _discard_recipients_file(params: dict[str, Any]) -> None:
    from procurement.recipients.io import STAGED

    STAGED.discard(params["token"])


def _discard_providers_file(params: dict[str, Any]) -> None:
    from procurement.providers.io import STAGED

    STAGED.discard(params["token"])


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "contracts.generate",
            _l("Generate the plan's contracts"),
            "contracts.manage",
            generate_plan_contracts,
        ),
        Kind(
            "contracts.archive",
            _l("All contracts of the plan (.zip)"),
            "plans.view",
            archive_plan_contracts,
        ),
        Kind(
            "records.import",
            _l("Import service records"),
            "records.import",
            import_service_records,
        ),
        Kind(
            "payments.ledger_export",
            _l("Finance ledger (.xlsx)"),
            "payments.view",
            export_ledger,
        ),
        Kind(
            "settlements.shortfall_export",
            _l("Under-delivery (.xlsx)"),
            "settlements.view",
            export_shortfalls,
        ),
        Kind(
            "ocds.package",
            _l("OCDS release package of the year"),
            "plans.view",
            ocds_year_package,
        ),
        Kind(
            "recipients.import",
            _l("Import recipients"),
            "recipients.edit",
            import_recipients,
            after=_discard_recipients_file,
        ),
        Kind(
            "providers.import",
            _l("Import providers"),
            "providers.edit",
            import_providers,
            after=_discard_providers_file,
        ),
    )
}

STAGES = {
    "start": _l("Starting"),
    "documents": _l("Documents made"),
    "pdf": _l("PDF copies made"),
    "read": _l("File read"),
    "checked": _l("Rows checked"),
    "stored": _l("Records stored"),
    "settled": _l("Statements brought up to date"),
    "gathered": _l("Figures gathered"),
    "written": _l("File written"),
    "releases": _l("Plans described"),
}
