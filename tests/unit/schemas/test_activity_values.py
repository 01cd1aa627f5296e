"""The activity contract admits in each field only what the field names.

Terms (purposes, legal bases, content types) and references (recipients, consent records, services) are copied
into alerts, their Kafka keys, rows, reports and records: an e-mail address, a mail subject in any encoding, a
line break, a control character or a look-alike is refused there. A recipient's name and address are free text
the law requires, in any script, and refuse what cannot be a name or an address. Every time is a point between
1970 and 9999 in UTC, like a collection event's.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from schemas.activity import ConsentEvent, DisclosureEvent, RightsRequestEvent, UseEvent
from schemas.decisions import UseRequest
from tests.unit.schemas.activity_values import (
    RECORD_TEXT_FIELDS,
    REFERENCE_FIELDS,
    TERM_FIELDS,
    base_event,
    emails,
    hostile_names,
    japanese_addresses,
    japanese_names,
    put,
    references,
    terms,
)

PROPERTY = settings(max_examples=300, deadline=None)
MODELS: dict[str, type[BaseModel]] = {
    "rakuro.use/v1": UseEvent,
    "rakuro.disclosure/v1": DisclosureEvent,
    "rakuro.consent/v1": ConsentEvent,
    "rakuro.rights/v1": RightsRequestEvent,
}
TERM_PLACES = [(spec, path) for spec, paths in TERM_FIELDS.items() for path in paths]
REFERENCE_PLACES = [(spec, path) for spec, paths in REFERENCE_FIELDS.items() for path in paths]
NAME_PLACES = TERM_PLACES + REFERENCE_PLACES


def _valid(spec: str, event: dict[str, Any]) -> bool:
    try:  # as the monitor reads it: JSON text, strictly
        MODELS[spec].model_validate_json(orjson.dumps(event), strict=True)
    except ValidationError:
        return False
    return True


def _request(**fields: Any) -> dict[str, Any]:
    return {
        "action": "disclosure",
        "at": "2026-11-27T10:00:00+09:00",
        "purpose": "service_provision",
        "data": ["user_information.name"],
        "subject_type": "analyzed_account_holder",
        "actor": "benefits-export",
        "recipient": {"kind": "third_party", "id": "naniwa-benefits"},
        "legal_basis": "consent",
        "consent_reference": "cons-2023-000871",
        **fields,
    }


@pytest.mark.parametrize("spec", MODELS)
def test_the_base_events_are_valid(spec: str) -> None:
    assert _valid(spec, base_event(spec))


@PROPERTY
@given(st.sampled_from(NAME_PLACES), hostile_names)
def test_no_term_or_reference_is_an_address_a_message_a_control_or_a_look_alike(place, value) -> None:
    spec, path = place

    assert not _valid(spec, put(base_event(spec), path, value))


@PROPERTY
@given(st.sampled_from(TERM_PLACES), terms)
def test_policy_terms_and_undeclared_terms_of_their_shape_pass(place, value) -> None:
    spec, path = place

    assert _valid(spec, put(base_event(spec), path, value))


@PROPERTY
@given(st.sampled_from(REFERENCE_PLACES), references)
def test_registry_ids_references_and_service_names_pass(place, value) -> None:
    spec, path = place

    assert _valid(spec, put(base_event(spec), path, value))


@PROPERTY
@given(
    st.sampled_from(RECORD_TEXT_FIELDS),
    st.one_of(
        emails, st.sampled_from(["株式会社なにわ\n件名: 給与", "Kobe\rK.K.", "大阪\u2028梅田", "a\u202eb", "x\x00"])
    ),
)
def test_a_recipients_name_or_address_holds_no_address_line_break_or_control(path, value) -> None:
    assert not _valid("rakuro.disclosure/v1", put(base_event("rakuro.disclosure/v1"), path, value))


def test_a_recipients_name_or_address_is_at_most_256_characters() -> None:
    for path in RECORD_TEXT_FIELDS:
        assert _valid("rakuro.disclosure/v1", put(base_event("rakuro.disclosure/v1"), path, "株" * 256))
        assert not _valid("rakuro.disclosure/v1", put(base_event("rakuro.disclosure/v1"), path, "株" * 257))


@PROPERTY
@given(japanese_names, japanese_addresses)
def test_japanese_company_names_and_addresses_pass(name, address) -> None:
    event = base_event("rakuro.disclosure/v1") | {
        "recipient_name": name,
        "recipient_address_or_representative": address,
    }

    assert _valid("rakuro.disclosure/v1", event)


def test_lists_of_terms_are_bounded() -> None:
    disclosure = base_event("rakuro.disclosure/v1")
    consent = base_event("rakuro.consent/v1")

    assert _valid("rakuro.disclosure/v1", disclosure | {"content_types": ["email_body"] * 16})
    assert not _valid("rakuro.disclosure/v1", disclosure | {"content_types": ["email_body"] * 17})
    assert _valid("rakuro.consent/v1", consent | {"purposes": ["statistics"] * 64})
    assert not _valid("rakuro.consent/v1", consent | {"purposes": ["statistics"] * 65})
    # and in characters, all entries together (nineteenth red-team pass): 64 of 16 fit, one more character not
    assert _valid("rakuro.consent/v1", consent | {"purposes": ["user_information"] * 64})
    assert not _valid("rakuro.consent/v1", consent | {"purposes": ["user_information"] * 63 + ["user_informations"]})


# The decision request (``policy evaluate``, the API) holds the same fields to the same types.
REQUEST_NAMES = ["purpose", "subject_type", "actor", "legal_basis", "consent_reference"]


@PROPERTY
@given(st.sampled_from([*REQUEST_NAMES, "content_types", "recipient"]), hostile_names)
def test_a_decision_request_refuses_the_same_values(name, value) -> None:
    fields = {"content_types": [value]} if name == "content_types" else {name: value}
    if name == "recipient":
        fields = {"recipient": {"kind": "third_party", "id": value}}

    with pytest.raises(ValidationError):
        UseRequest.model_validate(_request(**fields))


@PROPERTY
@given(st.sampled_from(["recipient_name", "recipient_address_or_representative"]), emails)
def test_a_decision_requests_record_refuses_an_address(name, value) -> None:
    record = {"consent_obtained": True, "recipient_name": "株式会社なにわ福利厚生", name: value}

    with pytest.raises(ValidationError):
        UseRequest.model_validate(_request(provision_record=record))


# Times ---------------------------------------------------------------------------------------------------------

ZONES = [UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12)), timezone(timedelta(hours=9, minutes=30))]
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


def _spelled(moment: datetime) -> str:
    return moment.isoformat()


@PROPERTY
@given(
    st.sampled_from(list(MODELS)),
    st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30), timezones=st.sampled_from(ZONES)),
)
def test_every_activity_time_is_a_point_between_1970_and_9999_in_utc(spec, moment) -> None:
    event = base_event(spec) | {"occurred_at": _spelled(moment)}

    assert _valid(spec, event) == (moment >= EARLIEST)


@pytest.mark.parametrize(
    "spelled",
    ["0001-01-01T00:00:00+14:00", "1969-12-31T23:59:59Z", "1970-01-01T08:59:59+09:00", "9999-12-31T23:59:59-05:00"],
)
def test_times_no_store_or_reader_can_represent_are_refused(spelled: str) -> None:
    for spec in MODELS:
        assert not _valid(spec, base_event(spec) | {"occurred_at": spelled})
    with pytest.raises(ValidationError):
        UseRequest.model_validate(_request(at=spelled))


def test_the_earliest_and_latest_representable_times_pass() -> None:
    for spelled in ("1970-01-01T00:00:00Z", "1970-01-01T09:00:00+09:00", "9999-12-31T23:59:59Z"):
        for spec in MODELS:
            assert _valid(spec, base_event(spec) | {"occurred_at": spelled, "event_id": str(uuid.uuid4())})
        UseRequest.model_validate(_request(at=spelled))
