"""The roster: ID numbers checked, sex and birth date derived, stored encrypted, one entry
per person."""

from datetime import date

import pytest
import sqlalchemy as sa

from procurement.core.db import db
from procurement.core.errors import Conflict, ValidationError
from procurement.recipients import identity, services
from procurement.recipients.models import Recipient
from tests.recipients.conftest import FACTS_ID, id_number, recipient_input


@pytest.mark.parametrize(
    ("number", "sex", "birth"),
    [
        (FACTS_ID, "female", date(1945, 6, 15)),
        ("11010519491231002X", "female", date(1949, 12, 31)),
        ("440524188001010014", "male", date(1880, 1, 1)),
        ("360426199101010071", "male", date(1991, 1, 1)),
    ],
)
def test_sex_and_birth_date_come_from_the_id_number(make_recipient, number, sex, birth):
    recipient = make_recipient(id_number=number.lower())
    assert (recipient.sex, recipient.birth_date) == (sex, birth)
    assert recipient.id_masked == number[:6] + "*" * 10 + number[-2:]


@pytest.mark.parametrize(
    ("number", "fragment"),
    [
        ("140522194506150027", "check character"),
        ("14052219450615002", "18 characters (this one has 17)"),
        ("1405221945061500A8", "17 digits"),
        ("140522194513150028", "birth date"),
        ("", "18 characters"),
    ],
)
def test_a_bad_id_number_is_refused_naming_the_field(make_recipient, number, fragment):
    with pytest.raises(ValidationError) as refused:
        make_recipient(id_number=number)
    message = refused.value.fields["id_number"][0]
    assert fragment in message
    assert not number or number not in message  # personal data is not repeated


def test_every_bad_field_is_named_at_once(officer):
    data = recipient_input(
        name=" ",
        township_code="140521100",  # 沁水县
        category="rich",
        capability_level="5",
        phone="call me",
        assessed_on="2030-01-01",
    )
    with pytest.raises(ValidationError) as refused:
        services.register_recipient(region_code="140522", data=data)
    assert set(refused.value.fields) == {
        "name",
        "township_code",
        "category",
        "capability_level",
        "phone",
        "assessed_on",
    }


def test_a_capability_level_needs_its_assessment_date(make_recipient):
    with pytest.raises(ValidationError) as refused:
        make_recipient(capability_level=2)
    assert list(refused.value.fields) == ["assessed_on"]
    recipient = make_recipient(
        capability_level="2", assessed_on="2026-03-02", assessor="阳城县评估中心"
    )
    assert recipient.capability_level == 2 and recipient.assessed_on == date(2026, 3, 2)


def test_the_number_is_never_stored_in_clear(make_recipient):
    make_recipient(id_number=FACTS_ID)
    row = db.session.execute(sa.text("SELECT * FROM recipients")).mappings().one()
    assert FACTS_ID not in " ".join(str(value) for value in row.values())
    assert identity.decrypt(row["id_cipher"]) == FACTS_ID
    assert row["id_hash"] == identity.id_hash(FACTS_ID)
    trail = db.session.execute(sa.text("SELECT after FROM audit_events")).scalars().all()
    assert not any(FACTS_ID in str(after) for after in trail)


def test_the_same_person_is_refused_twice(make_recipient):
    make_recipient(id_number=FACTS_ID, name="李桂兰")
    with pytest.raises(Conflict) as refused:
        make_recipient(id_number=FACTS_ID.lower(), name="李桂兰")
    assert "李桂兰" in refused.value.message and "id_number" in refused.value.fields


def test_a_person_of_another_county_is_refused_without_naming_them(make_recipient, qinshui):
    services.register_recipient(
        region_code="140521",
        data=recipient_input(id_number=FACTS_ID, name="沁水的老人", township_code=qinshui),
    )
    with pytest.raises(Conflict) as refused:
        make_recipient(id_number=FACTS_ID)
    assert "another county" in refused.value.message
    assert "沁水的老人" not in refused.value.message


def test_a_change_keeps_the_number_unless_it_is_corrected(make_recipient):
    recipient = make_recipient(id_number=FACTS_ID)
    cipher = recipient.id_cipher
    services.update_recipient(recipient, recipient_input(id_number="", name="李桂兰"))
    assert recipient.name == "李桂兰" and recipient.id_cipher == cipher
    services.update_recipient(recipient, recipient_input(id_number=FACTS_ID, name="李桂兰"))
    assert recipient.id_cipher == cipher  # the same number: nothing changes
    corrected = id_number(date(1945, 6, 16), 2)
    services.update_recipient(recipient, recipient_input(id_number=corrected, name="李桂兰"))
    assert recipient.birth_date == date(1945, 6, 16)
    assert identity.decrypt(recipient.id_cipher) == corrected


def test_search_by_whole_id_number_uses_the_hash(make_recipient):
    make_recipient(id_number=FACTS_ID, name="李桂兰")
    make_recipient(name="王秀英")
    found = lambda **kw: [  # noqa: E731
        r.name for r in db.session.scalars(services.roster_query(**kw)[0])
    ]
    assert found(q=FACTS_ID) == ["李桂兰"]
    assert found(q="秀英") == ["王秀英"]
    stmt, problem = services.roster_query(q="140522194506150027")
    assert "check character" in problem and db.session.scalars(stmt).all() == []
    assert found(status="registered") == ["李桂兰", "王秀英"]
    assert found(status="in_service") == []
    assert db.session.scalar(sa.select(sa.func.count(Recipient.id))) == 2


def _require_assessment() -> None:
    """Yangcheng's 2026 profile set to ask for a third-party assessment, as Xinjiang's does:
    the profile's data decides, not the county."""
    from procurement.policies.services import profile_for

    profile_for("140522", 2026).requires_assessment = True
    db.session.flush()


def test_an_assessment_validity_cannot_end_before_the_assessment(make_recipient):
    with pytest.raises(ValidationError) as refused:
        make_recipient(
            capability_level="2", assessed_on="2026-03-02", assessment_valid_until="2026-03-01"
        )
    assert list(refused.value.fields) == ["assessment_valid_until"]
    with pytest.raises(ValidationError) as refused:
        make_recipient(assessment_valid_until="2027-03-01")
    assert list(refused.value.fields) == ["assessed_on"]
    recipient = make_recipient(
        capability_level="2", assessed_on="2026-03-02", assessment_valid_until="2027-03-01"
    )
    assert recipient.assessment_valid_until == date(2027, 3, 1)


def test_a_profile_requiring_assessment_names_each_missing_part(make_recipient):
    make_recipient()  # not required: nothing asked
    _require_assessment()
    with pytest.raises(ValidationError) as refused:
        make_recipient(id_number=id_number(date(1951, 4, 1)), capability_level="1")
    fields = refused.value.fields
    assert set(fields) == {"assessed_on", "assessor", "assessment_valid_until"}
    assert "third-party capability assessment" in fields["assessor"][0]
    recipient = make_recipient(
        id_number=id_number(date(1951, 4, 1)),
        capability_level="1",
        assessed_on="2026-03-02",
        assessor="阳城县第三方评估中心",
        assessment_valid_until="2026-06-30",  # expired: kept, eligibility says so
    )
    assert recipient.assessment_valid_until == date(2026, 6, 30)
