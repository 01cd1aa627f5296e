"""What :meth:`Decider.decide_remembered` keeps of requests that never repeat is bounded in bytes.

A decision is remembered by everything it depends on, which a disclosure's sender chooses: up to 64 data
references (3,072 characters in all), 16 content types (512), a purpose and a recipient. Counted in entries
(16,384), disclosures near those bounds, each new, held 131 MB (nineteenth red-team pass). Here every request is
such a disclosure, new, and the memory still held is measured.
"""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.decisions import Action, Recipient, RecipientKind, SubjectState, TrustedUseRequest
from schemas.policy import Policy
from services.policy.decide import Decider
from services.policy.engine import PolicyEngine
from tests.memory import most_held

AT = datetime(2025, 4, 1, tzinfo=UTC)


def _wide_disclosure(n: int) -> TrustedUseRequest:
    """A disclosure at the contract's bounds, every term of it new (and so unknown to the policy)."""
    return TrustedUseRequest(
        action=Action.DISCLOSURE,
        at=AT,
        purpose=f"purpose_{n:08d}",
        data=[f"c{n:07d}_{j:02d}.item_{j:02d}".ljust(48, "x") for j in range(64)],
        content_types=[f"t{n:07d}_{j:02d}".ljust(32, "y") for j in range(16)],
        subject_type="employee",
        actor="hr-service",
        recipient=Recipient(kind=RecipientKind.CONSIGNEE, id=f"recipient-{n:08d}"),
        legal_basis="consent",
        consent_reference=None,
        consent_granted=False,
        provision_record=None,
        aggregate=None,
        subject_state=SubjectState(),
    )


def test_decisions_of_new_disclosures_at_every_bound_hold_a_few_megabytes(policy: Policy):
    engine = PolicyEngine(policy)
    decider = Decider(engine, remembered_bytes=8 << 20)  # reached in 2,000 requests (the default is 16 MiB)
    decider.decide_remembered(_wide_disclosure(-1))  # what the first decision builds once

    def decide(n: int) -> None:
        assert not decider.decide_remembered(_wide_disclosure(n)).allowed

    held = most_held(decide, 2_000, every=250)

    # Sent: ~9 KB of new terms a request. The budget is 8 MiB, and charges are upper bounds.
    assert held < 9_000_000, f"{held:,} bytes held after 2,000 new disclosures"


def test_a_repeating_request_is_decided_once(policy: Policy):
    decider = Decider(PolicyEngine(policy))

    first = decider.decide_remembered(_wide_disclosure(1))

    assert decider.decide_remembered(_wide_disclosure(1)) is first


def test_expanded_data_of_new_requests_holds_only_the_policys_references(policy: Policy):
    """Nineteenth red-team pass (session 15): the engine remembered each request's data as sent, 4,096 of them:
    fresh data at the contract's bounds held 29 MB. Its expansions are remembered by the references the policy
    knows, as the policy's own texts, within a byte budget; the unknown ones are what expansion drops anyway."""
    engine = PolicyEngine(policy)
    known = sorted(engine.known_refs)
    engine.expand_cached((known[0],))

    def expand(n: int) -> None:
        data = [f"c{n:07d}_{j:02d}.item_{j:02d}".ljust(48, "x") for j in range(60)]
        data += [known[n % len(known)], known[(n * 7) % len(known)], known[(n * 13) % len(known)]]
        assert engine.expand_cached(tuple(data)) == engine.expand(data)

    held = most_held(expand, 3_000, every=500)

    assert held < 1_000_000, f"{held:,} bytes held after 3,000 requests of new data"
