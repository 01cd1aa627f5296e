"""Example policy files: each is the Rakuro policy with one line edited (marked ``# broken:``), added or blanked.

A broken file is refused with ``file:line: path: reason``, where the line is the one a policy author must fix.
The valid files show edits the loader must accept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest

from schemas.decisions import UseRequest
from services.policy.decide import Decider
from services.policy.engine import PolicyEngine
from services.policy.loader import PolicyFileError, load_policy

EXAMPLES = Path(__file__).parent / "examples"


@dataclass(frozen=True)
class Broken:
    file: str
    line: int
    where: str
    """The start of the path the problem names."""
    reason: str


BROKEN = [
    Broken(
        "unknown-category.yaml", 223, "purposes.user_notification.data.2", "unknown data category or item 'biometrics'"
    ),
    Broken("purpose-without-data.yaml", 223, "purposes.user_notification.data", "List should have at least 1 item"),
    Broken("bad-date.yaml", 18, "versions.1.published_on", "Input should be a valid date"),
    Broken("unknown-legal-basis.yaml", 208, "purposes.service_provision.legal_basis", "unknown legal basis"),
    Broken("misspelt-key.yaml", 208, "purposes.service_provision.legal_bases", "Extra inputs are not permitted"),
    Broken(
        "unknown-data-subject.yaml",
        231,
        "purposes.related_service_notification.data_subjects.1",
        "unknown data subject 'visitor'",
    ),
    Broken(
        "unknown-introduced-in.yaml",
        228,
        "purposes.related_service_notification.introduced_in",
        "unknown version '2021-01-01'",
    ),
    Broken(
        "unknown-consignee-purpose.yaml",
        273,
        "consignees.registered.sakura-payroll.purposes",
        "unknown purpose 'payroll_marketing'",
    ),
    Broken(
        "unknown-collection-item.yaml",
        138,
        "collection_kinds.access_log.fields.operation",
        "unknown data item 'log_information.operations'",
    ),
    Broken("unknown-time-zone.yaml", 7, "timezone", "unknown IANA time zone 'Asia/Tokio'"),
    Broken(
        "entry-subject-outside-purpose.yaml",
        246,
        "purposes.related_service_notification.data.0.subjects",
        "'visitor' is not a data subject of the purpose",
    ),
    Broken(
        "not-a-boolean.yaml",
        45,
        "data_categories.user_information.items.name.personally_identifiable",
        "Input should be a valid boolean",
    ),
    Broken(
        "bad-severity.yaml",
        302,
        "violations.third_party_without_consent.severity",
        "Input should be 'critical', 'high', 'medium' or 'low'",
    ),
    Broken("group-of-one.yaml", 253, "statistics.min_group_size", "greater than or equal to 2"),
    # A block-list entry is reported on its own line, not on the line of its list.
    Broken(
        "unknown-item.yaml",
        237,
        "purposes.related_service_notification.data.4",
        "unknown data category or item 'user_information.organisation_information'",
    ),
    Broken("notice-after-effective.yaml", 22, "versions.2.published_on", "Art. 3.3 requires notice"),
    Broken("versions-out-of-order.yaml", 23, "versions.2.effective_from", "must be after the previous version"),
]
# A rule the decider raises is missing: the problem is the section that lacks it (the line left is a comment).
MISSING_RULE = Broken("missing-violation-rule.yaml", 294, "violations", "no article and severity for unknown_data")

VALID = ["valid-notice-before-effective.yaml", "valid-introduced-in.yaml"]


def load_error(path: Path) -> str:
    with pytest.raises(PolicyFileError) as caught:
        load_policy(path)
    return str(caught.value)


@pytest.mark.parametrize("case", [*BROKEN, MISSING_RULE], ids=lambda case: case.file)
def test_a_broken_policy_is_refused_naming_the_file_the_line_to_fix_and_the_reason(case):
    path = EXAMPLES / case.file

    message = load_error(path)

    problems = message.split("; ")
    at_line = [problem for problem in problems if problem.startswith(f"{path}:{case.line}: ")]
    assert at_line, message
    assert at_line[0].removeprefix(f"{path}:{case.line}: ").startswith(case.where), message
    assert case.reason in at_line[0]


@pytest.mark.parametrize("case", BROKEN, ids=lambda case: case.file)
def test_the_line_named_is_the_one_marked_broken(case):
    lines = (EXAMPLES / case.file).read_text(encoding="utf-8").splitlines()

    assert [number for number, line in enumerate(lines, start=1) if "# broken:" in line] == [case.line]


def test_a_duplicate_key_is_refused_on_its_second_line_naming_the_first():
    path = EXAMPLES / "duplicate-key.yaml"

    message = load_error(path)

    # Without this check YAML would keep the second value: a policy of statistics over groups of three.
    assert message == f"{path}:254: duplicate key 'statistics.min_group_size' (first defined on line 253)"


def test_a_misspelt_key_is_reported_both_as_missing_and_as_unexpected():
    path = EXAMPLES / "misspelt-key.yaml"

    problems = load_error(path).split("; ")

    assert f"{path}:205: purposes.service_provision.legal_basis: Field required" in problems
    assert f"{path}:208: purposes.service_provision.legal_bases: Extra inputs are not permitted" in problems


def test_notice_before_a_revision_takes_effect_is_valid():
    policy = load_policy(EXAMPLES / "valid-notice-before-effective.yaml")

    current = policy.versions[-1]
    assert (current.published_on, current.effective_from) == (date(2022, 5, 16), date(2022, 6, 1))


def test_a_purpose_introduced_by_a_known_version_is_valid_and_in_force_from_it():
    policy = load_policy(EXAMPLES / "valid-introduced-in.yaml")
    decider = Decider(PolicyEngine(policy))

    def notify_related_services(at: str) -> UseRequest:
        return UseRequest(
            action="use",
            at=datetime.fromisoformat(at),
            purpose="related_service_notification",
            data=["user_information.name", "user_information.email_address"],
            subject_type="person_in_charge",
            actor="crm-mailer",
        )

    before = decider.decide(notify_related_services("2019-06-30T23:59:59+09:00"))
    after = decider.decide(notify_related_services("2019-07-01T00:00:00+09:00"))

    assert policy.purposes["related_service_notification"].introduced_in == "2019-07-01"
    assert before.codes == ["purpose_not_in_force"]
    assert after.allowed


def test_every_example_file_is_exercised():
    exercised = {case.file for case in [*BROKEN, MISSING_RULE]} | {"duplicate-key.yaml", *VALID}

    assert {path.name for path in EXAMPLES.glob("*.yaml")} == exercised
