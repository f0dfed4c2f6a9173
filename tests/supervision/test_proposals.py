"""seed 001 §8(2)1(三): three verified complaints attributable to the provider within the
service term call for a sanction; the system proposes it, prefilled, until one is recorded."""

from datetime import date

from procurement.contracts import services as contracts
from procurement.supervision import services
from tests.supervision.conftest import AUTUMN, complain, verified

JULY, AUGUST, SEPTEMBER, OCTOBER = (date(2026, m, 10) for m in (7, 8, 9, 10))


def test_the_third_counted_complaint_brings_the_proposal(in_force):
    contract = in_force[0]
    first, second = verified(contract, JULY), verified(contract, AUGUST)
    assert services.proposals() == []
    third = verified(contract, SEPTEMBER)
    [proposal] = services.proposals()
    assert proposal.contract is contract and proposal.provider is contract.provider
    assert proposal.complaint_ids == [first.id, second.id, third.id]
    assert proposal.ground == "3" and "三次被服务对象投诉" in proposal.clause
    assert services.proposals(provider_id=contract.provider_id) == [proposal]
    assert services.proposals(contract_id=in_force[1].id) == []


def test_a_complaint_outside_the_term_does_not_count(in_force):
    contract = in_force[0]
    verified(contract, date(2026, 6, 25))  # before the service started on 1 July
    verified(contract, JULY)
    verified(contract, AUGUST)
    assert services.proposals() == []
    counted = services.counted_complaints([contract])[contract.id]
    assert [c.received_on for c in counted] == [JULY, AUGUST]


def test_complaints_not_attributable_unfounded_or_unverified_do_not_count(in_force):
    contract = in_force[0]
    verified(contract, JULY)
    verified(contract, AUGUST)
    verified(contract, SEPTEMBER, attributable=False)
    verified(contract, SEPTEMBER, status="unfounded")
    complain(contract, OCTOBER)  # received, not yet verified
    assert services.proposals() == []


def test_complaints_about_other_contracts_do_not_add_up(in_force):
    verified(in_force[0], JULY)
    verified(in_force[0], AUGUST)
    verified(in_force[1], SEPTEMBER)
    assert services.proposals() == []


def test_a_recorded_sanction_citing_them_ends_the_proposal(world, in_force):
    contract = in_force[0]
    ids = [verified(contract, day).id for day in (JULY, AUGUST, SEPTEMBER)]
    [proposal] = services.proposals()
    services.record_sanction(
        services.SanctionInput(
            provider_id=contract.provider_id,
            contract_id=contract.id,
            kind="interview",
            ground=proposal.ground,
            decided_on=AUTUMN,
            complaint_ids=proposal.complaint_ids,
        ),
        actor=world["officer"],
    )
    assert services.proposals() == []
    verified(contract, OCTOBER)
    verified(contract, OCTOBER)
    assert services.proposals() == []  # two new ones: the three before were dealt with
    newest = verified(contract, OCTOBER)
    [again] = services.proposals()
    assert newest.id in again.complaint_ids and not set(ids) & set(again.complaint_ids)


def test_a_terminated_contract_gets_no_proposal(in_force):
    contract = in_force[0]
    for day in (JULY, AUGUST, SEPTEMBER):
        verified(contract, day)
    contracts.terminate_contract(contract, reason="false_records", note="", on=AUTUMN)
    assert services.proposals() == []
