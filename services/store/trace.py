"""Everything recorded about one subject, for disclosure requests (Art. 8): collections, uses and disclosures,
the Art. 4.2 records of provisions to third parties, and the subject's consents and rights requests (suspension
of use, deletion) as the monitor keeps them.

The raw id never reaches the store: it is pseudonymized under every key of the keyring (current and retired),
and the rows of all those pseudonyms are returned.

Times are read as ClickHouse writes them and turned into datetimes here: a stored time Python cannot hold (before
year 1 or after 9999 in UTC, which the store keeps as it was given) stays the store's text, so one such row never
fails a person's whole trace.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from services.pseudonymize import PseudonymKeyring
from services.records import consent_floor, state_timeline
from services.store.lineage_store import LineageStore

_QUERIES = {
    "collections": (
        "SELECT toString(event_id) AS event_id, kind, toString(occurred_at) AS occurred_at, source_service, "
        "data_categories, data_items, purposes, legal_bases, policy_version, removed_paths, removed_reasons, "
        "pseudonym_key_id "
        "FROM collection_lineage FINAL WHERE tenant_id = {tenant:String} AND subject_pseudonym IN {p:Array(String)} "
        "ORDER BY collection_lineage.occurred_at"
    ),
    "uses_and_disclosures": (
        "SELECT toString(event_id) AS event_id, activity, toString(occurred_at) AS occurred_at, actor, purpose, data, "
        "recipient_kind, recipient_id, allowed, legal_basis, policy_version, violation_codes "
        "FROM activity_decisions FINAL WHERE tenant_id = {tenant:String} AND subject_pseudonym IN {p:Array(String)} "
        "ORDER BY activity_decisions.occurred_at"
    ),
    "provisions": (
        "SELECT toString(event_id) AS event_id, toString(provided_at) AS provided_at, consent_obtained, "
        "consent_reference, recipient_id, recipient_name, recipient_address_or_representative, data_items, purpose, "
        "actor, policy_version "
        "FROM provision_records FINAL WHERE tenant_id = {tenant:String} AND subject_pseudonym IN {p:Array(String)} "
        "ORDER BY provision_records.provided_at"
    ),
}
_TIMES = ("occurred_at", "provided_at")
_STATE = (
    "SELECT state_table, state_key, argMax(value, (changed_at, source_offset)) FROM monitor_state "
    "WHERE state_key IN {subjects:Array(String)} "
    "OR (state_table = 'consents' AND arrayExists(prefix -> startsWith(state_key, prefix), {consents:Array(String)})) "
    "GROUP BY state_table, state_key"
)
"""The latest value of each of the subject's keys of monitor state (services/monitor/evaluate.py: subject_key,
consent_key), under each pseudonym: each value holds its key's whole timeline."""


def _moment(text: str) -> datetime | str:
    """A stored time as a (naive, UTC) datetime, as the client reads one; the store's text if Python cannot."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return text.replace(" ", "T", 1)


def trace(store: LineageStore, keyring: PseudonymKeyring, tenant_id: str, subject_id: str) -> dict[str, Any]:
    """The subject's lineage, grouped by what happened; the result names the subject only by pseudonyms."""
    pseudonyms = keyring.pseudonyms(tenant_id, subject_id)
    result: dict[str, Any] = {"tenant_id": tenant_id, "pseudonyms": pseudonyms}
    for section, sql in _QUERIES.items():
        records = store.query(sql, {"tenant": tenant_id, "p": list(pseudonyms.values())}).records()
        for record in records:
            for name in _TIMES:
                if name in record:
                    record[name] = _moment(record[name])
        result[section] = records
    result |= _consents_and_rights(store, tenant_id, list(pseudonyms.values()))
    return result


def _consents_and_rights(store: LineageStore, tenant_id: str, pseudonyms: list[str]) -> dict[str, Any]:
    """The subject's consents and rights requests, each change once (a key rotation keeps them under two keys).

    A consent whose timeline was cut (services/monitor/evaluate.py: 256 changes, 32 KB) keeps the newest change it
    cut, its floor: listed with ``older_not_kept``, since changes before it are no longer known."""
    rows = store.query(
        _STATE,
        {
            "subjects": [f"{tenant_id}/{pseudonym}" for pseudonym in pseudonyms],
            "consents": [f"{tenant_id}/{pseudonym}/" for pseudonym in pseudonyms],
        },
    ).rows
    consents: dict[str, dict[str, Any]] = {}
    requests: dict[str, dict[str, Any]] = {}
    for table, key, value in rows:
        state = orjson.loads(value)
        floor = consent_floor(state) if table == "consents" else None
        changes = state_timeline(state, table)
        for change in changes if floor is None else [floor, *changes]:
            if table == "consents" and len(change) == 5:
                granted, recipient_id, purposes, at, event_id = change
                reference = str(key).rsplit("/", 1)[-1]
                entry = consents.setdefault(f"{event_id}{at}{reference}", {
                    "consent_reference": reference, "action": "grant" if granted else "withdraw",
                    "recipient_id": recipient_id, "purposes": purposes, "at": _moment(at), "event_id": event_id,
                })  # fmt: skip
                if change is floor:
                    entry["older_not_kept"] = True
            elif table == "subjects" and len(change) == 4:
                flag, on, at, event_id = change
                request = "suspension_of_use" if flag == "suspended" else "deletion"
                requests.setdefault(f"{event_id}{at}{flag}", {
                    "request": request, "lifted": not on, "at": _moment(at), "event_id": event_id,
                })  # fmt: skip
    return {
        "consents": sorted(consents.values(), key=lambda c: str(c["at"])),
        "rights_requests": sorted(requests.values(), key=lambda r: str(r["at"])),
    }
