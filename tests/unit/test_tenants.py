"""The tenant register: its file, its reload, and that the collection stages and the monitor refuse any other
tenant's events as ``unknown_tenant`` (and only those)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.events import CollectionKind
from services.monitor.evaluate import read_activity
from services.policy.engine import PolicyEngine
from services.pseudonymize import PseudonymKey
from services.records import DeadLetterReason, SourceRecord
from services.stages.ingest import ingest
from services.tenants import (
    UNKNOWN_TENANT_MESSAGE,
    TenantRegister,
    TenantRegisterError,
    parse_register,
    read_register,
)
from services.topics import Topics
from tests.unit.conftest import make_event, make_record

KIND_OF_TOPIC = Topics().kind_of_collection_topic
REGISTER = "# customers served\nkobe-logistics\n\n  osaka-freight   # since 2024-04\ntenant:042\n"
A_MESSAGE = "Re: 給与削減の件"


def test_a_register_is_one_tenant_id_a_line_with_blank_lines_and_comments_ignored() -> None:
    assert parse_register(REGISTER) == {"kobe-logistics", "osaka-freight", "tenant:042"}


@pytest.mark.parametrize(
    "line",
    [
        "kobe logistics",  # a blank inside: no tenant id holds one
        "hanako@kobe.example",  # a mailbox, not a company
        "UmU6IOe1puS4juWJiua4m+OBruS7tg",  # a message in base64: the contract refuses it as a tenant id
        "-leading-dash",
        "x" * 129,
    ],
)
def test_a_line_that_is_no_tenant_id_stops_the_read_and_the_error_names_its_line_not_its_text(line: str) -> None:
    with pytest.raises(TenantRegisterError) as raised:
        parse_register(f"kobe-logistics\n{line}\n")
    assert "line 2" in str(raised.value)
    assert line not in str(raised.value)


@pytest.mark.parametrize("text", ["", "\n\n", "# nobody yet\n"])
def test_a_register_naming_no_tenant_is_refused_rather_than_refusing_every_event(text: str) -> None:
    with pytest.raises(TenantRegisterError, match="names no tenant"):
        parse_register(text)


def test_a_register_file_that_is_missing_or_not_utf8_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TenantRegisterError, match="cannot be read"):
        read_register(tmp_path / "missing.txt")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("kobe-logistics\n# Gesch\u00e4ftskunden\n".encode("latin-1"))
    with pytest.raises(TenantRegisterError, match="not UTF-8"):
        read_register(latin)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_changed_register_is_read_again_at_the_next_check_and_not_before(tmp_path: Path) -> None:
    path = tmp_path / "tenants.txt"
    path.write_text("kobe-logistics\n")
    clock = Clock()
    register = TenantRegister(path, check_s=5.0, clock=clock)
    first = register.current()
    assert first == {"kobe-logistics"}

    path.write_text("kobe-logistics\nosaka-freight\n")
    clock.now += 4.9
    assert register.current() is first, "checked no more often than every check_s"
    clock.now += 0.2
    assert register.current() == {"kobe-logistics", "osaka-freight"}
    same = register.current()
    clock.now += 10
    assert register.current() is same, "an unchanged file is not read again into a new object"


def test_a_register_that_no_longer_reads_keeps_the_last_one_and_counts_the_failure(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "tenants.txt"
    path.write_text("kobe-logistics\n")
    clock = Clock()
    failures: list[None] = []
    register = TenantRegister(path, check_s=1.0, clock=clock, on_failure=lambda: failures.append(None))

    path.write_text(f"kobe-logistics\n{A_MESSAGE}\n")  # a bad edit
    clock.now += 2
    with caplog.at_level(logging.ERROR):
        assert register.current() == {"kobe-logistics"}
    assert len(failures) == 1
    assert "line 2" in caplog.text
    assert A_MESSAGE not in caplog.text

    path.unlink()
    clock.now += 2
    assert register.current() == {"kobe-logistics"}
    assert len(failures) == 2

    path.write_text("osaka-freight\n")  # mended
    clock.now += 2
    assert register.current() == {"osaka-freight"}
    assert len(failures) == 2


def test_a_register_that_does_not_read_at_the_start_stops_the_start(tmp_path: Path) -> None:
    path = tmp_path / "tenants.txt"
    path.write_text("kobe logistics\n")
    with pytest.raises(TenantRegisterError):
        TenantRegister(path)


TENANT_IDS = st.sampled_from(["kobe-logistics", "osaka-freight", "tenant:042", "made-up-0001", "t.9", "ZZ_1"])


@given(register=st.none() | st.frozensets(TENANT_IDS, min_size=1), tenants=st.lists(TENANT_IDS, max_size=12))
def test_ingest_keeps_exactly_the_events_of_registered_tenants(
    register: frozenset[str] | None, tenants: list[str]
) -> None:
    batch = [
        make_record(make_event(CollectionKind.ACCESS_LOG, tenant_id=tenant), offset=offset)
        for offset, tenant in enumerate(tenants)
    ]

    result = ingest(batch, KIND_OF_TOPIC, 64 * 1024, tenants=register)

    kept = [record.envelope.tenant_id for record in result.ok]
    assert kept == [tenant for tenant in tenants if register is None or tenant in register]
    assert len(result.ok) + len(result.dead) == len(batch), "every event is accounted for"
    for dead in result.dead:
        assert dead.reason is DeadLetterReason.UNKNOWN_TENANT
        assert dead.message == UNKNOWN_TENANT_MESSAGE
        assert dead.event_id is not None, "the dead letter names the event, to be replayed once registered"


def test_an_event_that_breaks_its_contract_is_refused_for_that_whatever_its_tenant() -> None:
    broken = make_event(CollectionKind.ACCESS_LOG, tenant_id="made-up-0001", occurred_at="yesterday")

    result = ingest([make_record(broken)], KIND_OF_TOPIC, 64 * 1024, tenants=frozenset({"kobe-logistics"}))

    assert [dead.reason for dead in result.dead] == [DeadLetterReason.SCHEMA_INVALID]


EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "examples"


@pytest.mark.parametrize("example", ["use.json", "disclosure.json", "consent.json", "rights.json"])
def test_the_monitor_refuses_an_activity_event_of_an_unregistered_tenant(example: str, engine: PolicyEngine) -> None:
    key = PseudonymKey(b"k" * 32)
    registered = orjson.loads((EXAMPLES / example).read_bytes())
    assert registered["tenant_id"] == "kobe-logistics"
    event = {**registered, "tenant_id": "made-up-0001"}
    batch = [SourceRecord("t", 0, 0, orjson.dumps(event)), SourceRecord("t", 0, 1, orjson.dumps(registered))]

    received, dead = read_activity(batch, key, datetime.now(UTC), engine=engine, tenants=frozenset({"kobe-logistics"}))

    assert [item.source.offset for item in received] == [1]
    assert [(d.source.offset, d.reason, d.message) for d in dead] == [
        (0, DeadLetterReason.UNKNOWN_TENANT, UNKNOWN_TENANT_MESSAGE)
    ]
    unregistered, _ = read_activity(batch, key, datetime.now(UTC), engine=engine)
    assert len(unregistered) == 2, "without a register, any tenant is read"
