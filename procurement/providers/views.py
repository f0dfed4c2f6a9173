"""Provider register pages: the list, a provider's records and checks, imports."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from procurement.accounts.auth import permission_required
from procurement.audit.queries import history_of
from procurement.core import audit, staging
from procurement.core.db import db
from procurement.core.files import blob_path
from procurement.core.forms import (
    ActionForm,
    choices,
    filter_args,
    run_action,
    save_form,
)
from procurement.plans.models import PlanStatus, PurchasePlan
from procurement.providers import io, services
from procurement.providers.forms import (
    CheckForm,
    DocumentForm,
    PriceForm,
    ProviderFilterForm,
    ProviderForm,
    QualificationForm,
    RecordForm,
)
from procurement.providers.models import (
    LABELS,
    STAFF_LABELS,
    EvidenceDocument,
    Provider,
    QualificationCheck,
    RecordKind,
)
from procurement.providers.qualification import CRITERIA, CRITERION_LABELS
from procurement.providers.queries import latest_check_ids, provider_list
from procurement.regions.forms import requested_county
from procurement.regions.models import Region, RegionLevel
from procurement.regions.services import townships_of

bp = Blueprint("providers", __name__, url_prefix="/providers")

RESULT_LABELS = {"pass": _l("Passed"), "fail": _l("Failed"), "missing": _l("Missing evidence")}


@bp.app_template_global()
def criterion_label(code: str) -> str:
    return str(CRITERION_LABELS.get(code, code))


@bp.app_template_global()
def result_label(result: str) -> str:
    return str(RESULT_LABELS.get(result, result))


@bp.app_template_global()
def provider_label(value) -> str:
    return str(LABELS.get(value, value)) if value is not None else "—"


@bp.route("/")
@permission_required("providers.view")
def index():
    filters = ProviderFilterForm(request.args)
    filters.qualification.choices = choices(
        [
            ("", _("All")),
            ("qualified", _("Qualified at the latest check")),
            ("not_qualified", _("Not qualified at the latest check")),
            ("unchecked", _("Never checked")),
        ]
    )
    townships = db.session.scalars(
        select(Region)
        .where(
            Region.level == RegionLevel.TOWNSHIP, Region.code.startswith(g.user.region.scope.prefix)
        )
        .order_by(Region.code)
    ).all()
    filters.township.choices = choices(
        [("", _("All townships")), *[(t.code, t.name) for t in townships]]
    )
    stmt = provider_list(
        q=filters.q.data,
        township_code=filters.township.data,
        qualification=filters.qualification.data,
    )
    page = db.paginate(stmt, per_page=50, error_out=False)
    newest = db.session.scalars(
        select(QualificationCheck).where(
            QualificationCheck.id.in_(latest_check_ids()),
            QualificationCheck.provider_id.in_([p.id for p in page.items]),
        )
    )
    checks = {check.provider_id: check for check in newest}
    args = filter_args(filters)
    return render_template(
        "providers/index.html", page=page, checks=checks, filters=filters, args=args
    )


def _provider_form(county: Region, **kwargs) -> ProviderForm:
    form = ProviderForm(**kwargs)
    form.township_code.choices = choices(
        [("", "—"), *[(t.code, t.name) for t in townships_of(county)]]
    )
    return form


def _render_provider_form(form, county, provider=None, status=200):
    return render_template(
        "providers/form.html", form=form, county=county, provider=provider
    ), status


@bp.route("/new", methods=["GET", "POST"])
@permission_required("providers.edit")
def new():
    county = requested_county()
    form = _provider_form(county)
    if form.validate_on_submit():
        done = run_action(
            lambda: services.register_provider(region_code=county.code, data=form.provider_input()),
            success=lambda provider: _("%(name)s was added to the register.", name=provider.name),
            form=form,
        )
        if not done.ok:
            return _render_provider_form(form, county, None, 422)
        return redirect(url_for("providers.show", provider_id=done.result.id))
    return _render_provider_form(form, county, status=422 if form.errors else 200)


@bp.route("/<int:provider_id>/edit", methods=["GET", "POST"])
@permission_required("providers.edit")
def edit(provider_id: int):
    provider = db.get_or_404(Provider, provider_id)
    county = db.session.get(Region, provider.region_code)
    form = _provider_form(county)
    if request.method == "GET":
        form.fill(provider)
    elif form.validate_on_submit():
        done = run_action(
            lambda: services.update_provider(provider, form.provider_input()),
            success=_("The changes were saved."),
            form=form,
        )
        if not done.ok:
            return _render_provider_form(form, county, provider, 422)
        return redirect(url_for("providers.show", provider_id=provider.id))
    return _render_provider_form(form, county, provider, status=422 if form.errors else 200)


def _plans_for(provider: Provider):
    return db.session.scalars(
        select(PurchasePlan)
        .where(
            PurchasePlan.region_code == provider.region_code,
            PurchasePlan.status.in_([PlanStatus.APPROVED, PlanStatus.ADJUSTING]),
        )
        .order_by(PurchasePlan.year.desc())
    ).all()


def _check_form(provider: Provider) -> CheckForm:
    form = CheckForm()
    form.plan_id.choices = choices(
        [("", _("No plan")), *[(str(p.id), p.title) for p in _plans_for(provider)]]
    )
    return form


@bp.route("/<int:provider_id>")
@permission_required("providers.view")
def show(provider_id: int):
    provider = db.get_or_404(Provider, provider_id)
    return render_template(
        "providers/show.html",
        provider=provider,
        credit=services.describe_credit_code(provider.credit_code),
        expiring=services.expiring_qualifications(provider),
        latest=services.latest_checks(provider),
        check_form=_check_form(provider),
        document_form=DocumentForm(),
        staff_labels=STAFF_LABELS,
        record_kinds=list(RecordKind),
        history=history_of(provider),
    )


def _documents(provider: Provider):
    return choices(
        [("", "—"), *[(str(d.id), f"{d.title}（{d.filename}）") for d in provider.documents]]
    )


@bp.route("/<int:provider_id>/records/<kind>", methods=["GET", "POST"])
@permission_required("providers.edit")
def new_record(provider_id: int, kind: str):
    provider = db.get_or_404(Provider, provider_id)
    if kind not in RecordForm.FIELDS:
        abort(404)
    form = RecordForm()
    form.evidence_id.choices = _documents(provider)
    done, status = save_form(
        form,
        lambda: services.add_record(provider, kind, form.values(kind)),
        success=_("The record was added."),
        next_url=url_for("providers.show", provider_id=provider.id, _anchor="records"),
    )
    if done:
        return done
    return render_template(
        "providers/record_form.html",
        provider=provider,
        form=form,
        kind=RecordKind(kind),
        fields=RecordForm.FIELDS[kind],
    ), status


@bp.post("/<int:provider_id>/records/<int:record_id>/settle")
@permission_required("providers.edit")
def settle(provider_id: int, record_id: int):
    provider = db.get_or_404(Provider, provider_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    run_action(
        lambda: services.settle_arrears(
            services.get_record(provider, record_id), request.form.get("settled_on")
        ),
        success=_("The arrears were marked settled."),
    )
    return redirect(url_for("providers.show", provider_id=provider.id, _anchor="records"))


@bp.route("/<int:provider_id>/qualifications/new", methods=["GET", "POST"])
@permission_required("providers.edit")
def new_qualification(provider_id: int):
    provider = db.get_or_404(Provider, provider_id)
    form = QualificationForm()
    form.evidence_id.choices = _documents(provider)
    fields = ("name", "number", "issued_on", "expires_on", "required", "evidence_id")
    done, status = save_form(
        form,
        lambda: services.add_qualification(
            provider, {name: getattr(form, name).data for name in fields}
        ),
        success=_("The qualification was added."),
        next_url=url_for("providers.show", provider_id=provider.id),
    )
    if done:
        return done
    return render_template(
        "providers/simple_form.html", provider=provider, form=form, title=_("Add a qualification")
    ), status


@bp.route("/<int:provider_id>/prices/new", methods=["GET", "POST"])
@permission_required("providers.edit")
def new_price(provider_id: int):
    provider = db.get_or_404(Provider, provider_id)
    form = PriceForm()
    done, status = save_form(
        form,
        lambda: services.add_price(
            provider, {name: getattr(form, name).data for name in ("service", "unit", "price")}
        ),
        success=_("The price was added."),
        next_url=url_for("providers.show", provider_id=provider.id),
    )
    if done:
        return done
    return render_template(
        "providers/simple_form.html", provider=provider, form=form, title=_("Add a price")
    ), status


@bp.post("/<int:provider_id>/documents")
@permission_required("providers.edit")
def upload(provider_id: int):
    provider = db.get_or_404(Provider, provider_id)
    form = DocumentForm()
    if form.validate_on_submit():
        run_action(
            lambda: services.store_document(
                provider,
                actor=g.user,
                kind=form.kind.data,
                title=form.title.data,
                filename=form.file.data.filename,
                stream=form.file.data.stream,
            ),
            success=_("The document was stored."),
        )
    else:
        flash(_("Choose a file to upload."), "error")
    return redirect(url_for("providers.show", provider_id=provider.id, _anchor="documents"))


@bp.route("/<int:provider_id>/documents/<int:document_id>")
@permission_required("providers.view")
def download(provider_id: int, document_id: int):
    document = db.get_or_404(EvidenceDocument, document_id)
    if document.provider_id != provider_id:
        abort(404)
    path = blob_path(document.sha256)
    if not path.exists():
        abort(404)
    audit.record(
        "download",
        entity_type="evidence_documents",
        entity_id=document.id,
        region_code=document.region_code,
    )
    db.session.commit()
    return send_file(
        path, mimetype=document.content_type, as_attachment=True, download_name=document.filename
    )


@bp.post("/<int:provider_id>/checks")
@permission_required("providers.edit")
def run_check(provider_id: int):
    provider = db.get_or_404(Provider, provider_id)
    form = _check_form(provider)
    if not form.validate_on_submit():
        for messages in form.errors.values():
            for message in messages:
                flash(message, "error")
        return redirect(url_for("providers.show", provider_id=provider.id))
    plan = None
    if form.plan_id.data:
        plan = (
            db.session.get(PurchasePlan, int(form.plan_id.data))
            if str(form.plan_id.data).isdigit()
            else None
        )
        if plan is None:
            abort(400)
    done = run_action(
        lambda: services.run_check(provider, actor=g.user, as_of=form.as_of.data, plan=plan)
    )
    if not done.ok:
        return redirect(url_for("providers.show", provider_id=provider.id))
    return redirect(url_for("providers.check", provider_id=provider.id, check_id=done.result.id))


@bp.route("/<int:provider_id>/checks/<int:check_id>")
@permission_required("providers.view")
def check(provider_id: int, check_id: int):
    found = db.get_or_404(QualificationCheck, check_id)
    if found.provider_id != provider_id:
        abort(404)
    return render_template(
        "providers/check.html", check=found, provider=found.provider, criteria_order=CRITERIA
    )


@bp.route("/import", methods=["GET", "POST"])
@permission_required("providers.edit")
def import_file():
    county = requested_county()
    return staging.import_page(
        io.STAGED, "providers/import.html", region_code=county.code, county=county
    )


@bp.post("/import/confirm")
@permission_required("providers.edit")
def confirm_import():
    return staging.confirm_page(
        io.STAGED,
        region_code=requested_county().code,
        upload="providers.import_file",
    )


@bp.route("/import/template.xlsx")
@permission_required("providers.view")
def import_template():
    return send_file(
        io.template_workbook(),
        as_attachment=True,
        download_name="承接主体导入模板.xlsx",
        mimetype=io.XLSX,
    )
