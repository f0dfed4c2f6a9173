"""The public site: published results, open data (OCDS) and the Atom feed (no login).

政府采购法实施条例 art. 43, 50 and seed 000 §3(3), §4: award notices, contracts,
acceptance results and evaluation results are made public. Only records published
through ``public.services.publish`` and not withdrawn appear; everything else answers
404. No page shows a service recipient: organisations, amounts and aggregates only.

Every page is the same for every visitor (no session data, no CSRF token, no region
scope), so shared caches may keep it for ``MAX_AGE`` seconds and revalidate it by ETag
or Last-Modified (304).
"""

from __future__ import annotations

import json
from datetime import datetime
from io import BytesIO
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    jsonify,
    make_response,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from procurement.awards.models import Award
from procurement.contracts.models import Contract
from procurement.contracts.services import document_bytes, township_names
from procurement.core.db import db
from procurement.core.errors import HTTP_MESSAGES, NotFound, error_response, wants_json
from procurement.core.files import EXTENSIONS, read_blob, sniff
from procurement.core.scoping import activate_scope
from procurement.performance.evaluation import grade_label
from procurement.performance.models import Acceptance, Evaluation
from procurement.plans.exports import DOCX
from procurement.providers.models import Provider
from procurement.public import feed as atom
from procurement.public.links import public_link
from procurement.public.models import Publication, PublicationKind
from procurement.public.ocds import (
    EXTENSION_DIR,
    EXTENSION_FILES,
    ocid_prefix,
    public_process,
    release_package,
)
from procurement.public.queries import (
    Filters,
    by_region_and_year,
    choices,
    last_change,
    live_publication,
    live_publications,
    names,
    newest,
    party_scores,
    published,
    zone_budgets,
)
from procurement.public.services import is_public

bp = Blueprint("public", __name__, url_prefix="/public")

MAX_AGE = 300  # seconds a shared cache may serve a page without asking again
PER_PAGE = 30
PAGES = {
    PublicationKind.AWARD: ("public.award", "award_id"),
    PublicationKind.CONTRACT: ("public.contract", "contract_id"),
    PublicationKind.ACCEPTANCE: ("public.acceptance", "acceptance_id"),
    PublicationKind.EVALUATION: ("public.evaluation", "evaluation_id"),
}


@bp.before_request
def _everyone_sees_the_same():
    """Public pages read every region's published records, whoever is logged in (and
    are the same for everyone: a shared cache may keep them, see docs/operations.md)."""
    activate_scope(None)


@bp.errorhandler(404)
@bp.errorhandler(NotFound)
def _not_found(error):
    """Not published (or withdrawn): a public page that leads back to the published results."""
    message = str(HTTP_MESSAGES[404])
    if wants_json():
        return error_response(404, "not_found", message)
    return render_template("public/not_found.html", message=message), 404


@bp.context_processor
def _kinds():
    return {"publication_kinds": list(PublicationKind), "grade_label": grade_label}


@bp.app_template_global()
def public_url(publication, external: bool = False) -> str:
    """The public page of a published record (anything with ``kind`` and ``object_id``)."""
    endpoint, argument = PAGES[publication.kind]
    if external:
        return public_link(endpoint, **{argument: publication.object_id})
    return url_for(endpoint, **{argument: publication.object_id})


def _cached(body, last_modified: datetime | None, mimetype: str | None = None) -> Response:
    """A public, cacheable response with an ETag of its body; 304 when the client's copy
    (If-None-Match, else If-Modified-Since) is still current."""
    response = make_response(body)
    if mimetype:
        response.mimetype = mimetype
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    if last_modified is not None:
        response.last_modified = last_modified
    response.add_etag()
    return response.make_conditional(request)


def _download(data: bytes, *, mimetype: str, name: str, etag: str, last_modified) -> Response:
    return send_file(
        BytesIO(data),
        mimetype=mimetype,
        as_attachment=True,
        download_name=name,
        etag=etag,
        last_modified=last_modified,
        max_age=MAX_AGE,
    )


# ------------------------------------------------------------------ lists


def _page_of(filters: Filters):
    return db.paginate(
        filters.apply(live_publications()),
        page=request.args.get("page", 1, type=int),
        per_page=PER_PAGE,
        error_out=False,
    )


@bp.get("/")
def index():
    filters = Filters.from_args(request.args)
    page = _page_of(filters)
    providers, regions = names(page.items)
    html = render_template(
        "public/index.html",
        page=page,
        filters=filters,
        choices=choices(),
        browse=by_region_and_year(),
        providers=providers,
        regions=regions,
    )
    return _cached(html, last_change())


@bp.get("/publications.json")
def publications_json():
    """The same search as JSON, for anyone who wants to reuse the data."""
    filters = Filters.from_args(request.args)
    page = _page_of(filters)
    providers, regions = names(page.items)
    items = []
    for publication in page.items:
        provider = providers.get(publication.provider_id)
        items.append(
            {
                "id": publication.id,
                "kind": publication.kind.value,
                "title": publication.title,
                "year": publication.year,
                "region_code": publication.region_code,
                "region": regions[publication.region_code].full_name,
                "provider": provider.name if provider else None,
                "provider_credit_code": provider.credit_code if provider else None,
                "published_at": publication.published_at.isoformat(),
                "url": public_url(publication, external=True),
                "ocds": public_link("public.plan_ocds", plan_id=publication.plan_id),
            }
        )
    body = {"items": items, "total": page.total, "page": page.page, "per_page": page.per_page}
    return _cached(jsonify(body), last_change())


@bp.get("/feed.atom")
def feed():
    filters = Filters.from_args(request.args)
    publications = atom.recent(filters.apply(select(Publication)))
    providers, regions = names(publications)
    query = urlencode(sorted(filters.args().items()))

    def summary(publication: Publication) -> str:
        provider = providers.get(publication.provider_id)
        parts = [
            publication.kind.label,
            regions[publication.region_code].full_name,
            provider.name if provider else "",
        ]
        return " · ".join(part for part in parts if part)

    info = atom.FeedInfo(
        title=_("Home-care service purchases: published results"),
        self_url=public_link("public.feed", **filters.args()),
        site_url=public_link("public.index", **filters.args()),
        feed_id=f"{ocid_prefix()}/feed?{query}",
        entry_seed=ocid_prefix(),
    )
    body = atom.build_feed(
        info,
        publications,
        page_url=lambda p: public_url(p, external=True),
        summary=summary,
        language="en" if str(get_locale()) == "en" else "zh-CN",
    )
    last = newest(*(atom.changed_at(p) for p in publications))
    return _cached(body, last, mimetype="application/atom+xml")


# ------------------------------------------------------------------ plans and providers


@bp.get("/plans/<int:plan_id>")
def plan(plan_id: int):
    process = public_process(plan_id)
    plan = process.plan
    publications = db.session.scalars(
        live_publications().where(Publication.plan_id == plan.id)
    ).all()
    providers, _regions = names(publications)
    html = render_template(
        "public/plan.html",
        plan=plan,
        snapshot=plan.approved_version.snapshot,
        budgets=zone_budgets(plan),
        publications=publications,
        providers=providers,
    )
    return _cached(html, process.last_modified)


@bp.get("/plans/<int:plan_id>/ocds.json")
def plan_ocds(plan_id: int):
    """The plan's OCDS 1.1 release package (Chinese texts, amounts in CNY)."""
    process = public_process(plan_id)
    body = json.dumps(release_package(process), ensure_ascii=False, indent=2)
    return _cached(body, process.last_modified, mimetype="application/json")


@bp.get("/ocds/extension/<name>")
def ocds_extension(name: str):
    """This project's OCDS extension (the evaluation results), as OCDS tools fetch it."""
    if name not in EXTENSION_FILES:
        abort(404)
    text = (EXTENSION_DIR / name).read_text(encoding="utf-8")
    if name == "extension.json":
        metadata = json.loads(text)
        metadata["documentationUrl"] = {
            "en": public_link("public.ocds_extension", name="README.md")
        }
        text = json.dumps(metadata, ensure_ascii=False, indent=2)
    return _cached(text, None, mimetype=EXTENSION_FILES[name])


@bp.get("/providers/<int:provider_id>")
def provider(provider_id: int):
    provider = db.session.get(Provider, provider_id)
    publications = db.session.scalars(
        live_publications().where(Publication.provider_id == provider_id)
    ).all()
    if provider is None or not publications:
        abort(404)
    _providers, regions = names(publications)
    evaluations = db.session.execute(
        published(Evaluation, PublicationKind.EVALUATION)
        .where(Evaluation.provider_id == provider_id)
        .order_by(Evaluation.year.desc())
    ).all()
    html = render_template(
        "public/provider.html",
        provider=provider,
        publications=publications,
        regions=regions,
        evaluations=evaluations,
    )
    return _cached(html, last_change(Publication.provider_id == provider_id))


# ------------------------------------------------------------------ published records


@bp.get("/awards/<int:award_id>")
def award(award_id: int):
    publication = live_publication(PublicationKind.AWARD, award_id)
    award = db.get_or_404(Award, award_id)
    contract = db.session.scalar(select(Contract).where(Contract.award_id == award.id))
    if contract is not None and not is_public(PublicationKind.CONTRACT, contract.id):
        contract = None
    html = render_template(
        "public/award.html", award=award, publication=publication, contract=contract
    )
    return _cached(html, last_change(Publication.plan_id == award.plan_id))


@bp.get("/contracts/<int:contract_id>")
def contract(contract_id: int):
    publication = live_publication(PublicationKind.CONTRACT, contract_id)
    contract = db.get_or_404(Contract, contract_id)
    acceptances = db.session.execute(
        published(Acceptance, PublicationKind.ACCEPTANCE)
        .where(Acceptance.contract_id == contract.id)
        .order_by(Acceptance.period_end)
    ).all()
    evaluation = db.session.execute(
        published(Evaluation, PublicationKind.EVALUATION).where(
            Evaluation.contract_id == contract.id
        )
    ).first()
    html = render_template(
        "public/contract.html",
        contract=contract,
        publication=publication,
        townships=township_names(contract),
        award_public=is_public(PublicationKind.AWARD, contract.award_id),
        acceptances=acceptances,
        evaluation=evaluation,
    )
    moments = [contract.updated_at, last_change(Publication.plan_id == contract.plan_id)]
    return _cached(html, newest(*moments))


@bp.get("/contracts/<int:contract_id>/document.docx")
def contract_document(contract_id: int):
    """The latest version of the contract text: public (实施条例 art. 50); it names the
    parties and the terms and holds no recipient's data."""
    live_publication(PublicationKind.CONTRACT, contract_id)
    contract = db.get_or_404(Contract, contract_id)
    version = contract.document
    return _download(
        document_bytes(contract),
        mimetype=DOCX,
        name=f"{contract.number}.docx",
        etag=version.sha256,
        last_modified=version.created_at,
    )


@bp.get("/acceptances/<int:acceptance_id>")
def acceptance(acceptance_id: int):
    publication = live_publication(PublicationKind.ACCEPTANCE, acceptance_id)
    acceptance = db.get_or_404(Acceptance, acceptance_id)
    html = render_template(
        "public/acceptance.html",
        acceptance=acceptance,
        contract=acceptance.contract,
        publication=publication,
        contract_public=is_public(PublicationKind.CONTRACT, acceptance.contract_id),
        townships=township_names(acceptance.contract),
    )
    return _cached(html, newest(publication.published_at, acceptance.updated_at))


@bp.get("/acceptances/<int:acceptance_id>/certificate")
def acceptance_certificate(acceptance_id: int):
    """The acceptance certificate (验收书) as issued: a published result (seed 000 §3(3))."""
    publication = live_publication(PublicationKind.ACCEPTANCE, acceptance_id)
    acceptance = db.get_or_404(Acceptance, acceptance_id)
    if not acceptance.certificate_sha256:
        abort(404)
    data = read_blob(acceptance.certificate_sha256)
    mimetype = sniff(data[:16]) or "application/octet-stream"
    suffix = min(EXTENSIONS.get(mimetype, {""}))
    return _download(
        data,
        mimetype=mimetype,
        name=f"验收书-{acceptance.contract.number}-{acceptance.id}{suffix}",
        etag=acceptance.certificate_sha256,
        last_modified=newest(publication.published_at, acceptance.updated_at),
    )


@bp.get("/evaluations/<int:evaluation_id>")
def evaluation(evaluation_id: int):
    publication = live_publication(PublicationKind.EVALUATION, evaluation_id)
    evaluation = db.get_or_404(Evaluation, evaluation_id)
    html = render_template(
        "public/evaluation.html",
        evaluation=evaluation,
        contract=evaluation.contract,
        publication=publication,
        contract_public=is_public(PublicationKind.CONTRACT, evaluation.contract_id),
        townships=township_names(evaluation.contract),
        parties=party_scores(evaluation),
    )
    return _cached(html, newest(publication.published_at, evaluation.updated_at))
