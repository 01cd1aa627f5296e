"""PolicyEngine over the real Rakuro policy: versions in force, purposes per data category and subject type."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.policy.engine import PolicyEngine, PurposeGrant


def at(day: str, time: str = "12:00:00") -> datetime:
    """A moment in Japan time: the policy's version dates are days in Asia/Tokyo."""
    return datetime.fromisoformat(f"{day}T{time}+09:00")


@pytest.mark.parametrize(
    ("moment", "version"),
    [
        (at("2018-07-01", "00:00:00"), "2018-07-01"),
        (at("2019-06-30", "23:59:59"), "2018-07-01"),
        (at("2019-07-01", "00:00:00"), "2019-07-01"),
        (at("2019-08-01"), "2019-07-01"),
        (at("2020-06-30"), "2019-07-01"),
        (at("2020-07-01"), "2020-07-01"),
        (at("2022-05-31", "23:59:59"), "2020-07-01"),
        (at("2022-06-01", "00:00:00"), "2022-06-01"),
        (at("2023-05-01"), "2022-06-01"),
        (datetime(2099, 1, 1, tzinfo=UTC), "2022-06-01"),
    ],
)
def test_version_in_force_changes_on_each_effective_date(engine, moment, version):
    in_force = engine.version_at(moment)

    assert in_force is not None
    assert in_force.version == version


@pytest.mark.parametrize(
    "written",
    ["2019-07-01T01:00:00+09:00", "2019-06-30T16:00:00+00:00", "2019-06-30T11:00:00-05:00"],
)
def test_one_instant_gets_one_version_whatever_offset_it_is_written_with(engine, written):
    assert engine.version_at(datetime.fromisoformat(written)).version == "2019-07-01"


def test_a_day_in_utc_before_the_japanese_effective_date_is_already_the_new_version(engine):
    # 2022-05-31T15:00Z is 2022-06-01T00:00 in Tokyo, when the 2022 revision took effect.
    assert engine.version_at(datetime.fromisoformat("2022-05-31T15:00:00+00:00")).version == "2022-06-01"


@pytest.mark.parametrize("moment", [at("2018-06-30", "23:59:59"), datetime(2000, 1, 1, tzinfo=UTC)])
def test_no_version_is_in_force_before_the_policy_was_established(engine, moment):
    assert engine.version_at(moment) is None


@pytest.mark.parametrize("subject_type", ["person_in_charge", "analyzed_account_holder"])
@pytest.mark.parametrize("category", ["terminal_information", "log_information", "cookie"])
def test_collected_device_and_log_data_serve_only_service_provision(engine, subject_type, category):
    grants = engine.purposes_for([category], subject_type)

    assert grants == (PurposeGrant("service_provision", "published_purpose_of_use", "Art. 3.1 table, row 1"),)


def test_related_service_notification_is_granted_only_for_a_person_in_charge(engine):
    for_person_in_charge = engine.purposes_for(["user_information.email_address"], "person_in_charge")
    for_account_holder = engine.purposes_for(["user_information.email_address"], "analyzed_account_holder")

    assert [g.purpose for g in for_person_in_charge] == [
        "service_provision",
        "user_notification",
        "related_service_notification",
    ]
    assert [g.purpose for g in for_account_holder] == ["service_provision", "user_notification"]
    assert {g.legal_basis for g in for_person_in_charge} == {"published_purpose_of_use"}


def test_related_service_notification_never_gets_bank_account_data(engine):
    grants = engine.purposes_for(["user_information"], "person_in_charge")  # the whole category includes the bank

    assert [g.purpose for g in grants] == ["service_provision", "user_notification"]


def test_a_purpose_is_granted_only_when_it_may_use_every_category(engine):
    grants = engine.purposes_for(["user_information.name", "allied_data"], "person_in_charge")

    assert [g.purpose for g in grants] == ["service_provision", "related_service_notification"]


def test_no_categories_means_no_purposes(engine):
    assert engine.purposes_for([], "person_in_charge") == ()
    assert engine.purposes_for((), "analyzed_account_holder") == ()


@pytest.mark.parametrize(
    ("categories", "subject_type"),
    [(["terminal_information"], "visitor"), (["biometrics"], "person_in_charge")],
    ids=["unknown-subject-type", "unknown-category"],
)
def test_unknown_subject_type_or_category_gets_no_purposes(engine, categories, subject_type):
    assert engine.purposes_for(categories, subject_type) == ()


def test_answers_do_not_depend_on_category_order_or_repetition(engine):
    assert engine.purposes_for(["allied_data", "user_information", "allied_data"], "person_in_charge") == (
        engine.purposes_for(["user_information", "allied_data"], "person_in_charge")
    )


def test_allow_lists_map_payload_fields_to_data_categories(engine):
    assert dict(engine.allowed_fields("terminal")) == {
        "terminal_id": "terminal_information",
        "terminal_type": "terminal_information",
    }
    assert set(engine.allowed_fields("access_log").values()) == {"log_information"}
    assert dict(engine.allowed_fields("email")) == {}


def test_policy_id_is_the_files_id(engine):
    assert engine.policy_id == "rakuro"


def test_a_purpose_a_later_version_introduced_is_not_tagged_on_data_collected_before_it(policy):
    # Art. 3.3: a purpose published by a later version did not exist when earlier data was collected.
    purposes = dict(policy.purposes)
    purposes["user_notification"] = purposes["user_notification"].model_copy(update={"introduced_in": "2020-07-01"})
    engine = PolicyEngine(policy.model_copy(update={"purposes": purposes}))
    items = ("user_information.email_address",)

    before = engine.tags_for(items, "person_in_charge", engine.version_at(at("2020-06-30")))
    after = engine.tags_for(items, "person_in_charge", engine.version_at(at("2020-07-01")))

    assert before.purposes == ("service_provision", "related_service_notification")
    assert after.purposes == ("service_provision", "user_notification", "related_service_notification")
    assert after.legal_bases == ("published_purpose_of_use",) * 3


def test_record_tags_are_one_cached_answer_per_items_subject_type_and_version(engine):
    version = engine.version_at(at("2023-05-01"))
    first = engine.tags_for(("allied_data.computer_login_history",), "analyzed_account_holder", version)

    assert engine.tags_for(("allied_data.computer_login_history",), "analyzed_account_holder", version) is first
    assert first.purposes == tuple(
        g.purpose for g in engine.purposes_for(["allied_data.computer_login_history"], "analyzed_account_holder")
    )


def test_row_3_limits_its_contact_entries_to_the_person_in_charge_but_not_the_usage_situation(engine):
    # Art. 3.1 table, row 3: "name, ... of the person in charge", then Allied Data and Transmission Data.
    usage = ["allied_data.system_usage_history", "transmission_data.arrival_departure_time"]

    for subject_type in ("person_in_charge", "analyzed_account_holder"):
        assert "related_service_notification" in [g.purpose for g in engine.purposes_for(usage, subject_type)]
    holder_contact = engine.purposes_for(["user_information.email_address"], "analyzed_account_holder")
    assert "related_service_notification" not in [g.purpose for g in holder_contact]
    assert "user_information.email_address" in engine.items_for("related_service_notification", "person_in_charge")
    assert "user_information.email_address" not in engine.items_for(
        "related_service_notification", "analyzed_account_holder"
    )
