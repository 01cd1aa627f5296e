"""The contracts and their JSON Schema export agree: golden examples pass both, broken ones fail both.

Every golden example in ``schemas/examples/`` is validated by its pydantic model and by the exported document;
the documents committed under ``schemas/jsonschema/`` are what the code generates.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from pydantic import BaseModel, ValidationError

import schemas
from schemas.activity import ConsentEvent, DisclosureEvent, RightsRequestEvent, UseEvent
from schemas.decisions import Action, UseRequest
from schemas.events import (
    PAYLOAD_MODELS,
    AlliedRecordType,
    CollectionEnvelope,
    CollectionKind,
    payload_model,
    record_of,
)
from schemas.jsonschema_export import (
    DIALECT,
    SCHEMA_BASE_URL,
    SCHEMA_DIR,
    check_schemas,
    collection_model,
    export_schemas,
    main,
    render,
    write_schemas,
)
from services.policy.decide import Decider
from services.policy.engine import PolicyEngine

EXAMPLES = Path(schemas.__file__).parent / "examples"
POLICY_FILE = Path(schemas.__file__).parent / "policies" / "rakuro.yaml"

COLLECTION = sorted(PAYLOAD_MODELS, key=lambda key: (key[0].value, key[1]))
ACTIVITY: dict[str, type[BaseModel]] = {
    "use": UseEvent,
    "disclosure": DisclosureEvent,
    "consent": ConsentEvent,
    "rights": RightsRequestEvent,
}


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, Any]]:
    return export_schemas()


def schema_errors(document: dict[str, Any], instance: Any) -> list[str]:
    validator = Draft202012Validator(document, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [error.message for error in validator.iter_errors(instance)]


def test_every_document_is_a_valid_2020_12_schema_with_a_versioned_id(documents: dict[str, dict[str, Any]]) -> None:
    for name, document in documents.items():
        Draft202012Validator.check_schema(document)
        assert document["$schema"] == DIALECT
        assert document["$id"] == f"{SCHEMA_BASE_URL}{name}"
        assert ".v1." in name


def test_every_contract_has_a_document(documents: dict[str, dict[str, Any]]) -> None:
    collection = {f"collection.{kind.value}.v{version}.schema.json" for kind, version in PAYLOAD_MODELS}
    others = {
        f"{stem}.v1.schema.json"
        for stem in ("use", "disclosure", "consent", "rights", "decision-request", "decision", "policy")
    }
    assert set(documents) == collection | others


def test_collection_documents_fix_the_kind_and_type_the_payload(documents: dict[str, dict[str, Any]]) -> None:
    for kind, version in COLLECTION:
        document = documents[f"collection.{kind.value}.v{version}.schema.json"]
        assert document["properties"]["kind"]["const"] == kind.value
        assert document["properties"]["kind_version"]["const"] == version
        payload_name = PAYLOAD_MODELS[(kind, version)].__name__
        assert document["properties"]["payload"] == {
            "$ref": f"#/$defs/{payload_name}",
            "description": "The kind-specific fields.",
        }
        assert document["additionalProperties"] is False
        payload = document["$defs"][payload_name]
        # A kind whose fields differ by record type is a discriminated union: one object per record type.
        variants = [ref["$ref"].rsplit("/", 1)[1] for ref in payload["oneOf"]] if "oneOf" in payload else [payload_name]
        for variant in variants:
            assert document["$defs"][variant]["additionalProperties"] is True


def test_allied_records_are_discriminated_by_record_type(documents: dict[str, dict[str, Any]]) -> None:
    document = documents["collection.allied.v1.schema.json"]
    union = document["$defs"]["AlliedPayloadV1"]
    assert union["discriminator"]["propertyName"] == "record_type"
    assert set(union["discriminator"]["mapping"]) == {t.value for t in AlliedRecordType}
    # A title exists on scheduler entries only.
    with_title = [name for name, spec in document["$defs"].items() if "title" in spec.get("properties", {})]
    assert with_title == ["SchedulerEntryV1"]


@pytest.mark.parametrize(("kind", "version"), COLLECTION, ids=lambda value: str(value))
def test_collection_example_passes_pydantic_and_json_schema(
    kind: CollectionKind, version: int, documents: dict[str, dict[str, Any]]
) -> None:
    event = example(kind.value)
    assert (event["kind"], event["kind_version"]) == (kind.value, version)

    # The way ingest reads it (envelope, then payload model) and the composed model the schema is built from.
    envelope = CollectionEnvelope.model_validate(event)
    model = payload_model(envelope.kind, envelope.kind_version)
    assert model is not None
    payload = model.model_validate(envelope.payload)
    assert record_of(payload).model_extra == {}
    collection_model(kind, version).model_validate(event)

    assert schema_errors(documents[f"collection.{kind.value}.v{version}.schema.json"], event) == []


@pytest.mark.parametrize("name", sorted(ACTIVITY))
def test_activity_example_passes_pydantic_and_json_schema(name: str, documents: dict[str, dict[str, Any]]) -> None:
    event = example(name)
    ACTIVITY[name].model_validate(event)
    assert schema_errors(documents[f"{name}.v1.schema.json"], event) == []


def test_consent_and_disclosure_examples_tell_one_story() -> None:
    consent, disclosure = example("consent"), example("disclosure")
    assert consent["action"] == "grant"
    assert disclosure["legal_basis"] == "consent"
    assert disclosure["consent_reference"] == consent["consent_reference"]
    assert disclosure["recipient"]["id"] == consent["recipient_id"]
    assert disclosure["subject"] == consent["subject"]
    assert datetime.fromisoformat(consent["occurred_at"]) < datetime.fromisoformat(disclosure["occurred_at"])


def test_policy_file_passes_the_policy_document(documents: dict[str, dict[str, Any]]) -> None:
    # YAML reads dates as date objects; JSON (what the schema describes) carries them as ISO strings.
    policy = json.loads(json.dumps(yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8")), default=str))
    assert schema_errors(documents["policy.v1.schema.json"], policy) == []


def test_decision_request_and_decision_pass_their_documents(
    engine: PolicyEngine, documents: dict[str, dict[str, Any]]
) -> None:
    use = example("use")
    request = {
        "action": Action.USE.value,
        "at": use["occurred_at"],
        "purpose": use["purpose"],
        "data": use["data"],
        "subject_type": use["subject"]["type"],
        "actor": use["source_service"],
    }
    assert schema_errors(documents["decision-request.v1.schema.json"], request) == []
    decision = Decider(engine).decide(UseRequest.model_validate(request))
    assert decision.allowed
    assert schema_errors(documents["decision.v1.schema.json"], orjson.loads(decision.to_json())) == []


# --- drift --------------------------------------------------------------------------------------------------


def test_committed_documents_match_the_code() -> None:
    assert check_schemas(SCHEMA_DIR) == [], "run `make schemas` and commit schemas/jsonschema/"


def test_export_is_deterministic() -> None:
    first, second = export_schemas(), export_schemas()
    assert list(first) == sorted(first)
    assert {name: render(doc) for name, doc in first.items()} == {name: render(doc) for name, doc in second.items()}


def test_drift_check_names_missing_changed_and_stale_files(tmp_path: Path) -> None:
    written = write_schemas(tmp_path)
    assert sorted(path.name for path in written) == sorted(export_schemas())
    assert check_schemas(tmp_path) == []

    (tmp_path / "use.v1.schema.json").unlink()
    changed = tmp_path / "policy.v1.schema.json"
    changed.write_text(changed.read_text(encoding="utf-8").replace('"Policy"', '"Policies"'), encoding="utf-8")
    (tmp_path / "collection.email.v1.schema.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "README.txt").write_text("not a schema\n", encoding="utf-8")
    assert check_schemas(tmp_path) == [
        "collection.email.v1.schema.json",
        "policy.v1.schema.json",
        "use.v1.schema.json",
    ]

    write_schemas(tmp_path)
    assert check_schemas(tmp_path) == []
    assert not (tmp_path / "collection.email.v1.schema.json").exists()
    assert (tmp_path / "README.txt").exists()


def test_module_entry_writes_then_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "jsonschema"
    assert main(["--check", str(target)]) == 1
    err = capsys.readouterr().err
    assert "make schemas" in err
    assert "collection.access_log.v1.schema.json" in err
    assert not target.exists(), "--check must change nothing"

    assert main([str(target)]) == 0
    assert main(["--check", str(target)]) == 0


# --- refused by both ----------------------------------------------------------------------------------------


def _without(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda event: event.pop(key)


def _setting(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda event: event.update({key: value})


def _payload_without(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda event: event["payload"].pop(key)


# (example, document, edit, pydantic (loc, type), JSON Schema message)
REFUSED = [
    pytest.param(
        "access_log",
        "collection.access_log.v1",
        _setting("kind", "terminal"),
        (("kind",), "literal_error"),
        "'access_log' was expected",
        id="collection-wrong-kind",
    ),
    pytest.param(
        "access_log",
        "collection.access_log.v1",
        _setting("kind_version", 2),
        (("kind_version",), "literal_error"),
        "1 was expected",
        id="collection-wrong-version",
    ),
    pytest.param(
        "terminal",
        "collection.terminal.v1",
        _without("subject"),
        (("subject",), "missing"),
        "'subject' is a required property",
        id="collection-missing-subject",
    ),
    pytest.param(
        "user_profile",
        "collection.user_profile.v1",
        _setting("password", "s3cret-Passw0rd"),
        (("password",), "extra_forbidden"),
        "Additional properties are not allowed ('password' was unexpected)",
        id="collection-envelope-extra-key",
    ),
    pytest.param(
        "access_log",
        "collection.access_log.v1",
        _payload_without("requested_at"),
        (("payload", "requested_at"), "missing"),
        "'requested_at' is a required property",
        id="collection-payload-missing-field",
    ),
    pytest.param(
        "access_log",
        "collection.access_log.v1",
        _setting("tenant_id", "hanako.sato@kobe-logistics.example"),
        (("tenant_id",), "string_pattern_mismatch"),
        "'hanako.sato@kobe-logistics.example' does not match '^[A-Za-z0-9][A-Za-z0-9._:-]*$'",
        id="collection-tenant-is-a-mailbox",
    ),
    pytest.param(
        "terminal",
        "collection.terminal.v1",
        _setting("source_service", "taro.yamada@kobe-logistics.example"),
        (("source_service",), "string_pattern_mismatch"),
        "'taro.yamada@kobe-logistics.example' does not match '^[A-Za-z0-9][A-Za-z0-9._:-]*$'",
        id="collection-service-is-a-mailbox",
    ),
    pytest.param(
        "use",
        "use.v1",
        _setting("spec", "rakuro.disclosure/v1"),
        (("spec",), "literal_error"),
        "'rakuro.use/v1' was expected",
        id="use-wrong-spec",
    ),
    pytest.param(
        "disclosure",
        "disclosure.v1",
        _without("subject"),
        (("subject",), "missing"),
        "'subject' is a required property",
        id="disclosure-missing-subject",
    ),
    pytest.param(
        "use",
        "use.v1",
        _setting("data", []),
        (("data",), "too_short"),
        "[] should be non-empty",
        id="use-without-data",
    ),
    pytest.param(
        "consent",
        "consent.v1",
        _setting("action", "maybe"),
        (("action",), "enum"),
        "'maybe' is not one of ['grant', 'withdraw']",
        id="consent-unknown-action",
    ),
    pytest.param(
        "rights",
        "rights.v1",
        _setting("email_body", "本文"),
        (("email_body",), "extra_forbidden"),
        "Additional properties are not allowed ('email_body' was unexpected)",
        id="rights-extra-key",
    ),
]


def _model_for(name: str) -> type[BaseModel]:
    if name in ACTIVITY:
        return ACTIVITY[name]
    return collection_model(CollectionKind(name), 1)


@pytest.mark.parametrize(("name", "document", "edit", "pydantic_error", "schema_message"), REFUSED)
def test_broken_example_is_refused_by_pydantic_and_json_schema(
    name: str,
    document: str,
    edit: Callable[[dict[str, Any]], None],
    pydantic_error: tuple[tuple[str, ...], str],
    schema_message: str,
    documents: dict[str, dict[str, Any]],
) -> None:
    event = copy.deepcopy(example(name))
    edit(event)

    with pytest.raises(ValidationError) as refused:
        _model_for(name).model_validate(event)
    errors = refused.value.errors(include_url=False)
    assert [(error["loc"], error["type"]) for error in errors] == [pydantic_error]

    validator = Draft202012Validator(documents[f"{document}.schema.json"])
    best = best_match(validator.iter_errors(event))
    assert best is not None
    assert best.message == schema_message


def test_unknown_kind_is_refused_by_the_envelope() -> None:
    event = example("access_log")
    event["kind"] = "email"
    with pytest.raises(ValidationError) as refused:
        CollectionEnvelope.model_validate(event)
    assert [(error["loc"], error["type"]) for error in refused.value.errors()] == [(("kind",), "enum")]


def test_password_in_user_profile_payload_is_accepted_so_minimization_can_evidence_it(
    documents: dict[str, dict[str, Any]],
) -> None:
    # Payload models allow unknown keys on purpose: minimization, not validation, removes them with evidence.
    event = example("user_profile")
    event["payload"]["password"] = "s3cret-Passw0rd"

    validated = collection_model(CollectionKind.USER_PROFILE, 1).model_validate(event)
    assert validated.payload.model_extra == {"password": "s3cret-Passw0rd"}
    assert schema_errors(documents["collection.user_profile.v1.schema.json"], event) == []
