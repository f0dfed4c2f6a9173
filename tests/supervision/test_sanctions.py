"""Sanctions of seed 001 §8(2): interview, rectification with its deadline, suspension of
settlement until lifted, and termination, which ends the contract with its ground."""

from datetime import date

import pytest
from sqlalchemy import func, select

from procurement.contracts.models import ContractStatus
from procurement.core.db import db
from procurement.core.errors import Conflict, ValidationError
from procurement.supervision import services
from procurement.supervision.models import Sanction, SanctionKind
from tests.supervision.conftest import AUTUMN, pin, verified


def sanction(contract, **values):
    data = {
        "provider_id": contract.provider_id,
        "contract_id": contract.id,
        "kind": "interview",
        "ground": "1",
        "decided_on": AUTUMN,
        **values,
    }
    return services.record_sanction(services.SanctionInput(**data), actor=None)


def refused_fields(contract, **values) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as refused:
        sanction(contract, **values)
    return refused.value.fields


def test_an_interview_and_a_rectification_with_its_deadline(in_force):
    contract = in_force[0]
    interview = sanction(contract, note="约谈负责人")
    assert interview.kind is SanctionKind.INTERVIEW and interview.region_code == "140522"
    assert "不按承诺提供服务" in services.ground_label(interview.kind, interview.ground)
    rectification = sanction(
        contract, kind="rectification", ground="2", deadline=date(2026, 11, 20)
    )
    assert rectification.deadline == date(2026, 11, 20)
    assert services.in_force(rectification, AUTUMN)
    assert not services.in_force(rectification, date(2026, 11, 21))
    assert not services.in_force(interview, AUTUMN)


def test_bad_sanctions_are_refused_naming_each_field(in_force):
    first, second = in_force[0], in_force[1]
    assert set(refused_fields(first, kind="rectification", ground="9")) == {"ground", "deadline"}
    assert set(refused_fields(first, kind="terminate", ground="3")) == {"ground"}
    assert set(refused_fields(first, kind="interview", ground="lost_qualification")) == {"ground"}
    assert set(refused_fields(first, kind="fine")) == {"kind"}
    assert set(refused_fields(first, decided_on=date(2026, 10, 21))) == {"decided_on"}
    assert set(refused_fields(first, decided_on=date(2026, 6, 1))) == {"decided_on"}  # unsigned
    assert set(refused_fields(first, deadline=date(2026, 11, 1))) == {"deadline"}  # interview
    fields = refused_fields(
        first, kind="rectification", deadline=date(2026, 10, 1), provider_id=second.provider_id
    )
    assert set(fields) == {"deadline", "contract_id"}
    assert set(refused_fields(first, ground="5")) == {"note"}  # 合同约定的其他情形: say which
    assert db.session.scalar(select(func.count(Sanction.id))) == 0


def test_clause_three_rests_on_three_counted_complaints(in_force):
    contract, other = in_force[0], in_force[1]
    ids = [verified(contract, date(2026, m, 5)).id for m in (7, 8)]
    fields = refused_fields(contract, ground="3", complaint_ids=ids)
    assert set(fields) == {"complaint_ids"}
    elsewhere = verified(other, date(2026, 9, 5))
    not_theirs = verified(contract, date(2026, 9, 6), attributable=False)
    fields = refused_fields(contract, ground="3", complaint_ids=[*ids, elsewhere.id])
    assert f"{elsewhere.id} " in fields["complaint_ids"][0]
    assert set(refused_fields(contract, ground="3", complaint_ids=[*ids, not_theirs.id])) == {
        "complaint_ids"
    }
    third = verified(contract, date(2026, 9, 7))
    done = sanction(contract, ground="3", complaint_ids=[*ids, third.id, ids[0]])
    assert done.complaint_ids == [*ids, third.id]


def test_a_suspension_holds_settlement_from_its_date_until_lifted(in_force):
    contract, other = in_force[0], in_force[1]
    pin(date(2026, 9, 1))
    suspension = sanction(contract, kind="suspend_settlement", ground="1", decided_on="2026-09-01")
    assert services.settlement_suspension(contract.id, date(2026, 8, 31)) is None
    assert services.settlement_suspension(contract.id, date(2026, 9, 1)) is suspension
    assert services.settlement_suspension(other.id, date(2026, 9, 1)) is None
    with pytest.raises(ValidationError) as refused:  # one suspension at a time
        sanction(contract, kind="suspend_settlement", ground="2", decided_on="2026-09-01")
    assert set(refused.value.fields) == {"kind"}

    pin(AUTUMN)
    ids = [contract.id, other.id]
    assert services.active_suspensions(ids) == {contract.id: suspension}
    services.lift_suspension(suspension, lifted_on=date(2026, 10, 10))
    assert services.settlement_suspension(contract.id, date(2026, 10, 9)) is suspension
    assert services.settlement_suspension(contract.id, date(2026, 10, 10)) is None
    assert services.active_suspensions(ids) == {}
    assert not services.in_force(suspension, AUTUMN)
    with pytest.raises(Conflict):
        services.lift_suspension(suspension, lifted_on=AUTUMN)


def test_lifting_is_for_suspensions_and_not_before_their_date(in_force):
    contract = in_force[0]
    with pytest.raises(Conflict):
        services.lift_suspension(sanction(contract), lifted_on=AUTUMN)
    suspension = sanction(contract, kind="suspend_settlement", decided_on="2026-10-01")
    for day, field in ((date(2026, 9, 30), "lifted_on"), (date(2026, 10, 21), "lifted_on")):
        with pytest.raises(ValidationError) as refused:
            services.lift_suspension(suspension, lifted_on=day)
        assert set(refused.value.fields) == {field}
    assert suspension.lifted_on is None


def test_termination_ends_the_contract_with_its_ground(in_force):
    contract = in_force[1]
    done = sanction(contract, kind="terminate", ground="false_records", note="虚报服务记录120条")
    assert done.kind is SanctionKind.TERMINATE
    assert contract.status is ContractStatus.TERMINATED
    assert (contract.terminated_on, contract.termination_reason) == (AUTUMN, "false_records")
    assert contract.termination_note == "虚报服务记录120条"
    db.session.commit()
    with pytest.raises(Conflict):  # a terminated contract is not terminated again
        sanction(contract, kind="terminate", ground="defrauded_elders")
    db.session.rollback()
    with pytest.raises(Conflict):  # nor sanctioned otherwise
        sanction(contract)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Sanction.id))) == 1


def test_termination_for_another_serious_breach_needs_the_findings(in_force):
    contract = in_force[2]
    assert set(refused_fields(contract, kind="terminate", ground="other_serious")) == {"note"}
    assert contract.status is ContractStatus.IN_FORCE
