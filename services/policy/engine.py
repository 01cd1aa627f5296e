"""The policy, indexed once so that every question the stages ask costs a few set and dict lookups."""

from __future__ import annotations

import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

from schemas.memo import BoundedMemo, remembered
from schemas.policy import CollectionKindRule, Policy, PolicyVersion, Purpose

EXPANDED_BYTES = 2 << 20
"""Bytes :meth:`PolicyEngine.expand_cached` is charged at most for what it remembers (then it starts afresh):
~1,000 sets of data at their largest, far more of the few a stream of uses names."""

_EXPANDED_ENTRY = 400
"""What a remembered expansion costs beside 8 bytes a reference of its key and 48 an item of its result (a set's
slots, with room): the dict's slot, the key's tuple and the result's frozenset."""


@remembered(maxsize=16_384, expanding=True)
def normalize_key(name: str) -> str:
    """A key name as markers are matched: NFKC (full-width to ASCII), case-folded, without separators."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(filter(str.isalnum, folded))  # C-level: NFKC makes up to 18 characters of one


@dataclass(frozen=True, slots=True)
class PurposeGrant:
    """A purpose a record may be used for, and the legal basis that allows it."""

    purpose: str
    legal_basis: str
    article: str


@dataclass(frozen=True, slots=True)
class RecordTags:
    """What tagging attaches to a record: the purposes that may use it and the legal basis of each, in order."""

    purposes: tuple[str, ...]
    legal_bases: tuple[str, ...]


class PolicyEngine:
    """Pure, deterministic answers to what the policy allows."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._zone = ZoneInfo(policy.timezone)
        # Each version starts at midnight of its effective day in the policy's zone: one instant, one version.
        self._version_starts: list[float] = [
            datetime.combine(v.effective_from, time(0), tzinfo=self._zone).timestamp() for v in policy.versions
        ]
        self._version_index = {v.version: i for i, v in enumerate(policy.versions)}
        self.all_items: frozenset[str] = frozenset(
            f"{category}.{item}" for category, spec in policy.data_categories.items() for item in spec.items
        )
        self.identifiable_items: frozenset[str] = frozenset(
            f"{category}.{item}"
            for category, spec in policy.data_categories.items()
            for item, item_spec in spec.items.items()
            if item_spec.personally_identifiable
        )
        self.excluded_markers: tuple[str, ...] = tuple(normalize_key(m) for m in policy.excluded_content.markers)
        self.excluded_word_markers: frozenset[str] = frozenset(
            normalize_key(m) for m in policy.excluded_content.word_markers
        )
        self.known_refs: frozenset[str] = self.all_items | frozenset(policy.data_categories)
        """Every valid data reference: each category and each category.item."""
        self._canonical: dict[str, str] = {ref: ref for ref in self.known_refs}
        self._category_items: dict[str, frozenset[str]] = {
            category: frozenset(f"{category}.{name}" for name in spec.items)
            for category, spec in policy.data_categories.items()
        }
        self._expanded: BoundedMemo[tuple[str, ...], frozenset[str]] = BoundedMemo(EXPANDED_BYTES)
        self.purpose_items: dict[str, frozenset[str]] = {
            key: self.expand(purpose.refs) for key, purpose in policy.purposes.items()
        }
        """Purpose -> every item it may use, of any of its data subjects."""
        self._subject_items: dict[tuple[str, str], frozenset[str]] = {
            (key, subject): self.expand(purpose.refs_for(subject))
            for key, purpose in policy.purposes.items()
            for subject in policy.data_subjects
        }
        self._field_items: dict[str, dict[str, str]] = {
            kind: {path: rule.item_of(path) for path in rule.fields} for kind, rule in policy.collection_kinds.items()
        }
        self._field_categories: dict[str, dict[str, str]] = {
            kind: {field: ref.partition(".")[0] for field, ref in fields.items()}
            for kind, fields in self._field_items.items()
        }
        self._grants = lru_cache(maxsize=1024)(self._compute_grants)
        self._tags = lru_cache(maxsize=4096)(self._compute_tags)

    @property
    def policy_id(self) -> str:
        return self.policy.policy_id

    def expand(self, refs: Iterable[str]) -> frozenset[str]:
        """``category`` -> all its items; ``category.item`` -> itself. Unknown references are dropped."""
        items: set[str] = set()
        for ref in refs:
            category, _, item = ref.partition(".")
            spec = self.policy.data_categories.get(category)
            if spec is None:
                continue
            if item:
                if item in spec.items:
                    items.add(ref)
            else:
                items.update(self._category_items[category])
        return frozenset(items)

    def expand_cached(self, refs: Sequence[str]) -> frozenset[str]:
        """:meth:`expand`, remembered by the references the policy knows, as the policy's own texts (what
        :meth:`expand` reads: it drops the others) and within :data:`EXPANDED_BYTES`.

        Keyed by the request's data as sent, 4,096 entries held 29 MB of fresh data at the contract's bounds
        (nineteenth red-team pass, session 15); now a key and its result hold only references to the policy's
        texts, and a sender can add nothing to them but their count."""
        canonical = self._canonical
        key = tuple(sorted({canonical[ref] for ref in refs if ref in canonical}))
        found = self._expanded.get(key)
        if found is None:
            found = self.expand(key)
            self._expanded.remember(key, found, _EXPANDED_ENTRY + 8 * len(key) + 48 * len(found))
        return found

    def allowed_fields(self, kind: str) -> Mapping[str, str]:
        """Payload field -> data category for ``kind``; empty when the policy does not know the kind."""
        return self._field_categories.get(kind, {})

    def field_items(self, kind: str) -> Mapping[str, str]:
        """Payload field -> ``category.item`` for ``kind`` (on any record type); empty for a kind the policy lacks."""
        return self._field_items.get(kind, {})

    def kind_rule(self, kind: str) -> CollectionKindRule | None:
        """The policy's rule for collection ``kind``, or None when the policy does not know the kind."""
        return self.policy.collection_kinds.get(kind)

    def version_at(self, moment: datetime) -> PolicyVersion | None:
        """The policy version in force at ``moment``, or None before the policy was established.

        Version dates are days in the policy's own time zone, so one instant gets one version whatever
        offset it was written with.
        """
        return self.version_at_timestamp(moment.timestamp())

    def version_at_timestamp(self, seconds: float) -> PolicyVersion | None:
        """:meth:`version_at` of the instant ``seconds`` after the epoch (a datetime's ``timestamp()``)."""
        index = bisect_right(self._version_starts, seconds)
        return self.policy.versions[index - 1] if index else None

    def purpose_in_force(self, purpose: Purpose, version: PolicyVersion) -> bool:
        """False when ``purpose`` was introduced by a version later than ``version`` (Art. 3.3)."""
        if purpose.introduced_in is None:
            return True
        return self._version_index[purpose.introduced_in] <= self._version_index[version.version]

    def items_for(self, purpose: str, subject_type: str) -> frozenset[str]:
        """The items ``purpose`` may use of a ``subject_type``'s data (an entry may be limited to some subjects)."""
        return self._subject_items.get((purpose, subject_type), frozenset())

    def purposes_for(self, data: Iterable[str], subject_type: str) -> tuple[PurposeGrant, ...]:
        """Record-level purposes (not aggregate-only) that may use *all* of ``data`` (categories or items)."""
        return self._grants(frozenset(data), subject_type)

    def tags_for(self, items: tuple[str, ...], subject_type: str, version: PolicyVersion) -> RecordTags:
        """The tags of a record keeping ``items`` about a ``subject_type`` collected under ``version``.

        The record-level purposes that may use all of the items and were in force at that version (a purpose a
        later version introduced did not exist when the data was collected, Art. 3.3). Few distinct
        (items, subject type, version) exist, so each answer is computed once and cached.
        """
        return self._tags(items, subject_type, version.version)

    def _compute_tags(self, items: tuple[str, ...], subject_type: str, version_name: str) -> RecordTags:
        version = self.policy.versions[self._version_index[version_name]]
        grants = [
            grant
            for grant in self.purposes_for(items, subject_type)
            if self.purpose_in_force(self.policy.purposes[grant.purpose], version)
        ]
        return RecordTags(tuple(g.purpose for g in grants), tuple(g.legal_basis for g in grants))

    def _compute_grants(self, categories: frozenset[str], subject_type: str) -> tuple[PurposeGrant, ...]:
        if not categories:  # nothing was kept, so there is nothing to use
            return ()
        if not all(self.policy.resolves(ref) for ref in categories):  # data the policy does not know: no purpose
            return ()
        wanted = self.expand(categories)
        return tuple(
            PurposeGrant(purpose=key, legal_basis=purpose.legal_basis, article=purpose.article)
            for key, purpose in self.policy.purposes.items()
            if not purpose.aggregate_only
            and subject_type in purpose.data_subjects
            and wanted <= self.items_for(key, subject_type)
        )
