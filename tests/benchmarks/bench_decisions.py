"""Throughput of policy decisions: Decider.decide alone, and with parsing the request from JSON.

Run with `.venv/bin/python -m tests.benchmarks.bench_decisions [--profile]`. Prints figures; asserts nothing about
time (timings belong here, not in tests). The target for decide() alone is 100,000 decisions/s on one core.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import schemas
from schemas.decisions import UseRequest
from services.policy.decide import Decider
from services.policy.engine import PolicyEngine
from services.policy.loader import load_policy

POLICY_PATH = Path(schemas.__file__).parent / "policies" / "rakuro.yaml"
TARGET = 100_000

_CONTACT = ["user_information.name", "user_information.email_address", "user_information.department"]
_RECORD = {
    "consent_obtained": True,
    "recipient_name": "Kobe Logistics K.K.",
    "recipient_address_or_representative": "1-1 Minatojima, Kobe",
    "subject_identification": "pseudonym:7f3a9c0e",
    "data_items": _CONTACT,
}


def _to(kind: str, recipient_id: str, **fields: Any) -> dict[str, Any]:
    return {"action": "disclosure", "recipient": {"kind": kind, "id": recipient_id}, **fields}


# (weight, request fields): what a day of traffic looks like. Mostly allowed internal uses, then disclosures of
# every kind, and the refusals a monitor exists to catch.
_TRAFFIC: list[tuple[int, dict[str, Any]]] = [
    (30, {"data": ["log_information", "terminal_information"]}),
    (10, {"data": ["allied_data.scheduler_title", "transmission_data.arrival_departure_time"]}),
    (8, {"purpose": "user_notification", "data": ["user_information.email_address", "login_credentials.login_id"]}),
    (6, {"purpose": "related_service_notification", "data": [*_CONTACT, "allied_data"]}),
    (6, {"purpose": "statistics", "data": ["transmission_data"], "aggregate": {"group_size": 40}}),
    (6, _to("collection_module", "google-analytics", data=["cookie", "log_information.usage_situation"])),
    (5, _to("consignee", "sakura-payroll", data=["user_information.bank_account_information"])),
    (4, _to("consignee", "hokuto-helpdesk", purpose="user_notification", data=_CONTACT)),
    (
        3,
        _to(
            "third_party",
            "kobe-logistics",
            data=_CONTACT,
            legal_basis="consent",
            consent_granted=True,
            consent_reference="consent-2023-000417",
            provision_record=_RECORD,
        ),
    ),
    (2, _to("third_party", "osaka-labour-bureau", data=_CONTACT, legal_basis="laws_and_regulations")),
    # Refusals.
    (4, {"data": ["allied_data.email_transmission_history"], "content_types": ["email_body"]}),
    (3, {"purpose": "related_service_notification", "data": _CONTACT, "subject_type": "analyzed_account_holder"}),
    (3, _to("collection_module", "google-analytics", data=["log_information.ip_address", "cookie"])),
    (3, _to("third_party", "kobe-logistics", data=_CONTACT)),
    (2, _to("consignee", "sakura-payroll", purpose="user_notification", data=_CONTACT)),
    (2, {"purpose": "statistics", "data": ["user_information"], "aggregate": {"group_size": 4}}),
    (2, {"subject_state": {"suspended": True}}),
    (1, {"purpose": "behavioural_advertising"}),
]


def request_mix(count: int, seed: int = 7) -> list[UseRequest]:
    """``count`` validated requests drawn from the traffic mix, at varied moments over five years."""
    rng = random.Random(seed)
    weights = [weight for weight, _ in _TRAFFIC]
    start = datetime.fromisoformat("2019-01-01T00:00:00+09:00")
    requests = []
    for fields in rng.choices([fields for _, fields in _TRAFFIC], weights, k=count):
        request: dict[str, Any] = {
            "action": "use",
            "at": start + timedelta(seconds=rng.randrange(5 * 365 * 86_400)),
            "purpose": "service_provision",
            "data": ["log_information"],
            "subject_type": rng.choice(["person_in_charge", "analyzed_account_holder"]),
            "actor": rng.choice(["attendance-web", "crm-mailer", "stats-job"]),
            **fields,
        }
        if request["purpose"] == "related_service_notification" and "subject_type" not in fields:
            request["subject_type"] = "person_in_charge"
        requests.append(UseRequest.model_validate(request))
    return requests


def throughput(label: str, count: int, rounds: int, run: Callable[[], None]) -> float:
    """Run ``run`` (``count`` decisions) once to warm up, then ``rounds`` times; print and return the median rate."""
    run()
    rates = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        rates.append(count / (time.perf_counter() - started))
    median = statistics.median(rates)
    print(f"{label}: median {median:,.0f} decisions/s (best {max(rates):,.0f}, worst {min(rates):,.0f}; 1 core)")
    return median


def describe(decider: Decider, requests: Sequence[UseRequest]) -> None:
    decisions = [decider.decide(request) for request in requests]
    allowed = sum(decision.allowed for decision in decisions)
    kinds = Counter(
        f"{r.recipient.kind.value}:{'allowed' if d.allowed else 'refused'}"
        for r, d in zip(requests, decisions, strict=True)
    )
    print(f"mix: {len(requests):,} requests, {allowed / len(requests):.0%} allowed")
    print("  " + ", ".join(f"{key} {value / len(requests):.0%}" for key, value in sorted(kinds.items())))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="profile decide() and print the top hotspots")
    args = parser.parse_args(argv)

    decider = Decider(PolicyEngine(load_policy(POLICY_PATH)))
    requests = request_mix(args.requests)
    payloads = [request.model_dump_json().encode() for request in requests]
    describe(decider, requests)
    decide = decider.decide
    parse = UseRequest.model_validate_json

    def decide_all() -> None:
        for request in requests:
            decide(request)

    def parse_and_decide_all() -> None:
        for payload in payloads:
            decide(parse(payload))

    rate = throughput("(a) decide() on validated requests", len(requests), args.rounds, decide_all)
    throughput("(b) model_validate_json + decide()", len(payloads), args.rounds, parse_and_decide_all)
    print(f"target for (a): {TARGET:,} decisions/s -> {'met' if rate >= TARGET else 'NOT met'}")

    if args.profile or rate < TARGET:
        profiler = cProfile.Profile()
        profiler.runcall(decide_all)
        print("\nprofile of (a), by own time:")
        pstats.Stats(profiler).sort_stats(pstats.SortKey.TIME).print_stats(15)


if __name__ == "__main__":
    main()
