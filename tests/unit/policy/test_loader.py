"""load_policy: the real file loads; every broken file raises PolicyFileError naming the file and the problem."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.policy.loader import PolicyFileError, load_policy


@pytest.fixture
def write_policy(policy, tmp_path) -> Callable[[Callable[[dict[str, Any]], None]], Path]:
    """Write the real policy, changed by ``edit``, to a temporary file."""

    def write(edit: Callable[[dict[str, Any]], None]) -> Path:
        document = policy.model_dump(mode="json")
        edit(document)
        path = tmp_path / "edited-policy.yaml"
        path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        return path

    return write


def load_error(path: Path) -> str:
    with pytest.raises(PolicyFileError) as caught:
        load_policy(path)
    message = str(caught.value)
    assert message.startswith(f"{path}"), message
    return message


def test_the_shipped_policy_loads_with_its_versions_in_order(policy_path):
    policy = load_policy(policy_path)

    assert policy.policy_id == "rakuro"
    assert [v.version for v in policy.versions] == ["2018-07-01", "2019-07-01", "2020-07-01", "2022-06-01"]
    assert set(policy.collection_kinds) == {
        "user_profile",
        "terminal",
        "access_log",
        "cookie",
        "allied",
        "transmission",
    }


def test_an_unchanged_round_trip_of_the_policy_loads(write_policy, policy):
    assert load_policy(write_policy(lambda document: None)) == policy


def test_missing_file_is_a_policy_file_error_naming_the_file(tmp_path):
    message = load_error(tmp_path / "no-such-policy.yaml")

    assert "cannot read policy file" in message


def test_a_directory_is_a_policy_file_error_naming_it(tmp_path):
    assert "cannot read policy file" in load_error(tmp_path)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("policy_id: rakuro\ntitle: x\nversions: [a, b\ncontroller: y\n", 4),
        ("policy_id: rakuro\ntitle: x\n  controller: y\n", 3),
        ("policy_id: rakuro\ncontroller: @rakuro\n", 2),
    ],
    ids=["unclosed-list", "bad-indent", "reserved-character"],
)
def test_invalid_yaml_is_reported_with_its_line_number(tmp_path, text, line):
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")

    message = load_error(path)

    assert message.startswith(f"{path}:{line}: not valid YAML (")


@pytest.mark.parametrize("text", ["- rakuro\n- policy\n", "just a string\n", ""], ids=["list", "scalar", "empty"])
def test_a_file_that_is_not_a_mapping_is_refused(tmp_path, text):
    path = tmp_path / "not-a-mapping.yaml"
    path.write_text(text, encoding="utf-8")

    assert load_error(path) == f"{path}: a policy file must be a mapping at the top level"


def test_unknown_data_category_in_a_purpose_is_refused(write_policy):
    def edit(document: dict[str, Any]) -> None:
        document["purposes"]["user_notification"]["data"].append("biometrics")

    message = load_error(write_policy(edit))

    assert "purposes.user_notification.data.2: unknown data category or item 'biometrics'" in message


def test_unknown_data_category_in_a_collection_kind_is_refused(write_policy):
    def edit(document: dict[str, Any]) -> None:
        document["collection_kinds"]["terminal"]["fields"]["terminal_id"] = "device_fingerprint"

    message = load_error(write_policy(edit))

    assert "collection_kinds.terminal.fields.terminal_id: unknown data item 'device_fingerprint'" in message


def test_unknown_legal_basis_is_refused(write_policy):
    def edit(document: dict[str, Any]) -> None:
        document["purposes"]["service_provision"]["legal_basis"] = "legitimate_interest"

    message = load_error(write_policy(edit))

    assert "purposes.service_provision.legal_basis: unknown legal basis 'legitimate_interest'" in message


def test_unknown_data_subject_is_refused(write_policy):
    def edit(document: dict[str, Any]) -> None:
        document["purposes"]["service_provision"]["data_subjects"].append("visitor")

    message = load_error(write_policy(edit))

    assert "purposes.service_provision.data_subjects.2: unknown data subject 'visitor'" in message


@pytest.mark.parametrize(
    "dates",
    [
        ["2019-07-01", "2018-07-01", "2020-07-01", "2022-06-01"],
        ["2018-07-01", "2019-07-01", "2019-07-01", "2022-06-01"],
    ],
    ids=["out-of-order", "same-date-twice"],
)
def test_versions_not_in_strictly_increasing_order_are_refused(write_policy, dates):
    def edit(document: dict[str, Any]) -> None:
        for version, day in zip(document["versions"], dates, strict=True):
            version["effective_from"] = day

    message = load_error(write_policy(edit))

    assert "effective_from: must be after the previous version's effective_from" in message


def test_a_key_that_is_not_snake_case_is_refused_with_its_path(write_policy):
    def edit(document: dict[str, Any]) -> None:
        document["collection_kinds"]["terminal"]["fields"]["Terminal ID"] = "terminal_information.terminal_id"

    message = load_error(write_policy(edit))

    assert "collection_kinds.terminal.fields.Terminal ID" in message


def test_an_unexpected_key_is_refused_with_its_path(write_policy):
    def edit(document: dict[str, Any]) -> None:
        document["versions"][0]["author"] = "legal"

    assert "versions.0.author: Extra inputs are not permitted" in load_error(write_policy(edit))


def test_a_missing_section_is_refused_with_its_name(write_policy):
    def edit(document: dict[str, Any]) -> None:
        del document["purposes"]

    assert "purposes: Field required" in load_error(write_policy(edit))


def test_policy_file_error_is_a_value_error():
    assert issubclass(PolicyFileError, ValueError)


def test_a_file_that_is_not_utf8_is_a_policy_file_error_naming_the_file(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("policy_id: caf\xe9\n".encode("latin-1"))

    with pytest.raises(PolicyFileError, match=r"latin1\.yaml: not UTF-8 text"):
        load_policy(path)


def test_an_unknown_time_zone_is_refused(write_policy):
    with pytest.raises(PolicyFileError, match="unknown IANA time zone"):
        load_policy(write_policy(lambda document: document.update(timezone="Mars/Olympus_Mons")))
