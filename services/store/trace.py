"""Everything recorded about one subject, for disclosure requests (Art. 8): collections, uses, disclosures.

The raw id never reaches the store: it is pseudonymized under every key of the keyring (current and retired),
and the rows of all those pseudonyms are returned.

Times are read as ClickHouse writes them and turned into datetimes here: a stored time Python cannot hold (before
year 1 or after 9999 in UTC, which the store keeps as it was given) stays the store's text, so one such row never
fails a person's whole trace.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.pseudonymize import PseudonymKeyring
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
}
_TIMES = ("occurred_at",)


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
                record[name] = _moment(record[name])
        result[section] = records
    return result
