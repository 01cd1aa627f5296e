"""Every policy shipped under schemas/policies loads, exports to valid fideslang and decides by its own terms."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas.decisions import UseRequest
from services.policy.decide import Decider
from services.policy.engine import PolicyEngine
from services.policy.fideslang_export import to_fideslang, validate_fideslang
from services.policy.loader import load_policy

POLICIES = sorted((Path(__file__).parents[3] / "schemas" / "policies").glob("*.yaml"))


def test_more_than_one_company_ships_a_policy() -> None:
    assert {path.stem for path in POLICIES} >= {"rakuro", "nordlicht"}


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.stem)
def test_a_shipped_policy_loads_and_exports_to_valid_fideslang(path: Path) -> None:
    policy = load_policy(path)

    validate_fideslang(to_fideslang(policy))
    assert policy.policy_id == path.stem


def test_a_processor_without_a_confidentiality_undertaking_is_a_violation_in_a_shipped_file() -> None:
    policy = load_policy(next(p for p in POLICIES if p.stem == "nordlicht"))
    decider = Decider(PolicyEngine(policy))
    request = UseRequest.model_validate(
        {
            "action": "disclosure", "at": datetime(2025, 6, 30, tzinfo=UTC), "purpose": "payroll_preparation",
            "data": ["time_records.clock_event"], "subject_type": "analyzed_account_holder",
            "actor": "payroll-bridge", "recipient": {"kind": "consignee", "id": "lohnbuero-mueller"},
        }
    )  # fmt: skip

    decision = decider.decide(request)

    assert decision.codes == ["consignee_without_confidentiality"]
    assert decision.violations[0].article == "GDPR Art. 28(3)(b)"
