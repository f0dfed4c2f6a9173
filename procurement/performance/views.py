"""Acceptance and evaluation pages: the contracts with their acceptance and evaluation,
an acceptance's draft (with the computed figures shown before saving), approval,
publication and certificate; an evaluation with each party's entry form."""

from __future__ import annotations

from io import BytesIO

from flask import Blueprint, abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import contains_eager, joinedload

from procurement.accounts.auth import permission_required
from procurement.audit.queries import history_of
from procurement.contracts.models import Contract, ContractStatus
from procurement.core.clock import today
from procurement.core.db import db
from procurement.core.forms import ActionForm, choices, filter_args, save_form
from procurement.core.office import DOCX
from procurement.performance import acceptance as acceptance_rules
from procurement.performance import common as performance_common
from procurement.performance import evaluation as evaluation_rules
from procurement.performance.forms import AcceptanceForm, IndexFilterForm, score_form
from procurement.performance.models import Acceptance, Evaluation
from procurement.plans.models import PurchasePlan
from procurement.policies.models import EvaluationParty

bp = Blueprint("performance", __name__, url_prefix="/performance")


@bp.app_template_global()
def finding_kind(code: str) -> str:
    return str(acceptance_rules.FINDING_KINDS.get(code, code))


@bp.app_template_global()
def evaluation_grade(grade: str | None) -> str:
    return evaluation_rules.grade_label(grade)


@bp.app_template_global()
def evaluation_party(party: str) -> str:
    return evaluation_rules.party_label(party)


@bp.app_template_global()
def quantity_unit(unit: str) -> str:
    return str(acceptance_rules.UNIT_LABELS.get(unit, unit))


bp.add_app_template_global(performance_common.percent, "percent")
bp.add_app_template_global(acceptance_rules.threshold_text, "threshold_text")


# ------------------------------------------------------------------ the overview


@bp.get("/")
@permission_required("performance.view")
def index():
    filters = IndexFilterForm(request.args)
    plans = db.session.scalars(select(PurchasePlan).order_by(PurchasePlan.year.desc())).all()
    filters.plan.choices = choices([("", _("All plans")), *[(p.id, p.title) for p in plans]])
    stmt = (
        select(Contract)
        .join(PurchasePlan, PurchasePlan.id == Contract.plan_id)
        .where(Contract.status != ContractStatus.DRAFT)
        .options(
            contains_eager(Contract.plan),
            joinedload(Contract.zone),
            joinedload(Contract.provider),
        )
        .order_by(PurchasePlan.year.desc(), Contract.number)
    )
    plan_id = request.args.get("plan", type=int)
    if plan_id:
        stmt = stmt.where(Contract.plan_id == plan_id)
    if filters.validate() and filters.year.data:
        stmt = stmt.where(PurchasePlan.year == filters.year.data)
    page = db.paginate(stmt, per_page=50, error_out=False)
    ids = [contract.id for contract in page.items]
    acceptances: dict[int, list[Acceptance]] = {}
    for acceptance in db.session.scalars(
        select(Acceptance)
        .where(Acceptance.contract_id.in_(ids))
        .order_by(Acceptance.period_start, Acceptance.id)
    ):
        acceptances.setdefault(acceptance.contract_id, []).append(acceptance)
    evaluations = {
        e.contract_id: e
        for e in db.session.scalars(select(Evaluation).where(Evaluation.contract_id.in_(ids)))
    }
    return render_template(
        "performance/index.html",
        filters=filters,
        args=filter_args(filters),
        page=page,
        acceptances=acceptances,
        evaluations=evaluations,
        ended={c.id: performance_common.contract_end(c) < today() for c in page.items},
    )


# ------------------------------------------------------------------ acceptance


def _figures(contract: Contract, form: AcceptanceForm):
    """The figures for the period in the form, when it is readable."""
    start, end = form.period_start.data, form.period_end.data
    if start is None or end is None or end < start:
        return None
    return acceptance_rules.acceptance_figures(contract, start, end)


def _acceptance_form(contract, form, status=200, acceptance=None):
    return render_template(
        "performance/acceptance_form.html",
        contract=contract,
        form=form,
        acceptance=acceptance,
        figures=_figures(contract, form),
        min_team=acceptance_rules.MIN_TEAM,
    ), status


@bp.route("/contracts/<int:contract_id>/acceptances/new", methods=["GET", "POST"])
@permission_required("acceptance.manage")
def new_acceptance(contract_id: int):
    contract = db.get_or_404(Contract, contract_id)
    form = AcceptanceForm()
    if request.method == "GET":
        form.period_start.data, form.period_end.data = acceptance_rules.default_period(contract)
        form.accepted_on.data = today()
    if "preview" in request.form:
        return _acceptance_form(contract, form)
    done, status = save_form(
        form,
        lambda: acceptance_rules.draft_acceptance(contract, form.acceptance_input(), actor=g.user),
        success=_("The acceptance was saved as a draft; another officer approves it."),
        next_url=lambda new: url_for("performance.acceptance", acceptance_id=new.id),
    )
    return done or _acceptance_form(contract, form, status)


@bp.route("/acceptances/<int:acceptance_id>/edit", methods=["GET", "POST"])
@permission_required("acceptance.manage")
def edit_acceptance(acceptance_id: int):
    acceptance = db.get_or_404(Acceptance, acceptance_id)
    contract = acceptance.contract
    form = AcceptanceForm()
    if request.method == "GET":
        form.fill(acceptance)
    if "preview" in request.form:
        return _acceptance_form(contract, form, acceptance=acceptance)
    done, status = save_form(
        form,
        lambda: acceptance_rules.update_acceptance(
            acceptance, form.acceptance_input(), actor=g.user, lock_version=form.version()
        ),
        success=_("The draft was saved."),
        next_url=url_for("performance.acceptance", acceptance_id=acceptance.id),
    )
    return done or _acceptance_form(contract, form, status, acceptance)


def _acceptance_page(acceptance: Acceptance, status: int = 200):
    figures = acceptance_rules.figures_of(acceptance)
    draft = acceptance.status.value == "draft"
    return render_template(
        "performance/acceptance.html",
        acceptance=acceptance,
        contract=acceptance.contract,
        figures=figures,
        problems=acceptance_rules.approval_problems(acceptance, figures) if draft else [],
        disagreeing=acceptance_rules.disagreeing_evaluation(
            acceptance.contract, acceptance.conclusion
        ),
        rate=acceptance_rules.satisfaction_rate(acceptance),
        history=history_of(acceptance),
    ), status


@bp.get("/acceptances/<int:acceptance_id>")
@permission_required("performance.view")
def acceptance(acceptance_id: int):
    return _acceptance_page(db.get_or_404(Acceptance, acceptance_id))


@bp.post("/acceptances/<int:acceptance_id>/approve")
@permission_required("acceptance.manage")
def approve_acceptance(acceptance_id: int):
    found = db.get_or_404(Acceptance, acceptance_id)
    done, status = save_form(
        ActionForm(),
        lambda: acceptance_rules.approve_acceptance(found, actor=g.user),
        success=_("The acceptance was approved and its certificate generated."),
        next_url=url_for("performance.acceptance", acceptance_id=found.id),
    )
    return done or _acceptance_page(found, status)


@bp.post("/acceptances/<int:acceptance_id>/publish")
@permission_required("publications.publish")
def publish_acceptance(acceptance_id: int):
    found = db.get_or_404(Acceptance, acceptance_id)
    done, status = save_form(
        ActionForm(),
        lambda: acceptance_rules.publish_acceptance(found, actor=g.user),
        success=_("The acceptance result was published."),
        next_url=url_for("performance.acceptance", acceptance_id=found.id),
    )
    return done or _acceptance_page(found, status)


@bp.get("/acceptances/<int:acceptance_id>/certificate.docx")
@permission_required("performance.view")
def certificate(acceptance_id: int):
    found = db.get_or_404(Acceptance, acceptance_id)
    if not found.certificate_sha256:
        flash(_("The certificate is generated when the acceptance is approved."), "info")
        return redirect(url_for("performance.acceptance", acceptance_id=found.id))
    return send_file(
        BytesIO(acceptance_rules.certificate_bytes(found)),
        as_attachment=True,
        mimetype=DOCX,
        download_name=acceptance_rules.certificate_filename(found),
    )


# ------------------------------------------------------------------ evaluation


@bp.post("/contracts/<int:contract_id>/evaluation")
@permission_required("evaluations.manage")
def open_evaluation(contract_id: int):
    contract = db.get_or_404(Contract, contract_id)
    done, _status = save_form(
        ActionForm(),
        lambda: evaluation_rules.open_evaluation(contract, actor=g.user),
        success=_("The evaluation is open: each party enters its scores."),
        next_url=lambda new: url_for("performance.evaluation", evaluation_id=new.id),
    )
    return done or redirect(url_for("performance.index"))


def _evaluation_page(evaluation: Evaluation, status: int = 200, **entered):
    forms = {}
    if evaluation.status.value == "open":
        for party in evaluation_rules.weighted_parties(evaluation):
            if evaluation_rules.can_score(g.user, party):
                forms[party] = entered.get(party) or score_form(
                    evaluation, party, formdata=None, data=_previous(evaluation, party)
                )
    return render_template(
        "performance/evaluation.html",
        evaluation=evaluation,
        contract=evaluation.contract,
        forms=forms,
        missing=[
            evaluation_rules.party_label(p) for p in evaluation_rules.missing_parties(evaluation)
        ],
        history=history_of(evaluation),
    ), status


def _previous(evaluation: Evaluation, party: str) -> dict:
    """A correction starts from the party's entry (the declaration is made again)."""
    score = evaluation_rules.score_of(evaluation, party)
    if score is None:
        return {}
    values = {
        "evaluator_name": score.evaluator_name,
        "evaluator_organisation": score.evaluator_organisation,
        "note": score.note,
        **(score.survey or {}),
    }
    for index, indicator in enumerate(evaluation_rules.party_indicators(evaluation, party)):
        values[f"indicator_{index}"] = score.scores.get(indicator["code"], "")
    return values


@bp.get("/evaluations/<int:evaluation_id>")
@permission_required("performance.view")
def evaluation(evaluation_id: int):
    return _evaluation_page(db.get_or_404(Evaluation, evaluation_id))


@bp.post("/evaluations/<int:evaluation_id>/scores/<party>")
@permission_required("evaluations.score")
def enter_scores(evaluation_id: int, party: str):
    found = db.get_or_404(Evaluation, evaluation_id)
    if party not in {p.value for p in EvaluationParty}:
        abort(404)
    evaluation_rules.check_scorer(g.user, party)
    form = score_form(found, party)
    upload = form._fields.get("file")

    def action():
        if upload is not None and upload.data and upload.data.filename:
            return evaluation_rules.import_survey(
                found, upload.data.stream, form.score_input(), actor=g.user
            )
        return evaluation_rules.enter_scores(found, form.score_input(), actor=g.user)

    done, status = save_form(
        form,
        action,
        success=_(
            "The scores of %(party)s were recorded.", party=evaluation_rules.party_label(party)
        ),
        next_url=url_for("performance.evaluation", evaluation_id=found.id),
    )
    return done or _evaluation_page(found, status, **{party: form})


@bp.post("/evaluations/<int:evaluation_id>/complete")
@permission_required("evaluations.manage")
def complete_evaluation(evaluation_id: int):
    found = db.get_or_404(Evaluation, evaluation_id)
    done, status = save_form(
        ActionForm(),
        lambda: evaluation_rules.complete_evaluation(found, actor=g.user),
        success=_("The evaluation is completed."),
        next_url=url_for("performance.evaluation", evaluation_id=found.id),
    )
    return done or _evaluation_page(found, status)


@bp.post("/evaluations/<int:evaluation_id>/publish")
@permission_required("publications.publish")
def publish_evaluation(evaluation_id: int):
    found = db.get_or_404(Evaluation, evaluation_id)
    done, status = save_form(
        ActionForm(),
        lambda: evaluation_rules.publish_evaluation(found, actor=g.user),
        success=_("The evaluation result was published."),
        next_url=url_for("performance.evaluation", evaluation_id=found.id),
    )
    return done or _evaluation_page(found, status)
