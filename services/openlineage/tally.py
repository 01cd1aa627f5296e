"""What a job saw for one dataset since the last flush: policy names, field paths and counts, never values.

Tallies are updated on the hot path, so they are plain sets and counters filled by C-level ``update`` calls
where possible; field paths and OpenLineage objects are built from them only when a flush emits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.monitor.evaluate import Evaluated
from services.policy.engine import PolicyEngine
from services.records import DeadLetter, TaggedRecord

MAX_REMOVED_PATHS = 256
"""Distinct removed paths kept per dataset and flush. Key names come from the input, so their number is unbounded;
past the cap removals are still counted by reason, only their paths are left out of the column lineage."""

PAYLOAD = "payload"

Branch = tuple[str, ...]
"""The key path of an object an allow-list descends into: ``("bank_account",)``; ``()`` is the payload itself."""


def branches_of(field_paths: Iterable[str]) -> tuple[Branch, ...]:
    """Every object an allow-list of dotted field paths descends into (``a.b.c`` -> ``(a,)``, ``(a, b)``)."""
    parts = [path.split(".") for path in field_paths]
    return tuple(sorted({tuple(p[:depth]) for p in parts for depth in range(1, len(p))}))


@dataclass(frozen=True, slots=True)
class PolicyTerms:
    """The policy's own names: only these may become facet values, as with metric labels."""

    policy_id: str
    purposes: frozenset[str]
    legal_bases: frozenset[str]
    data_categories: frozenset[str]
    branches: Mapping[str, tuple[Branch, ...]]
    """Collection kind -> the objects its allow-list descends into."""

    @classmethod
    def of(cls, engine: PolicyEngine) -> PolicyTerms:
        policy = engine.policy
        return cls(
            policy_id=engine.policy_id,
            purposes=frozenset(policy.purposes),
            legal_bases=frozenset(policy.legal_bases),
            data_categories=frozenset(policy.data_categories),
            branches={kind: branches_of(rule.fields) for kind, rule in policy.collection_kinds.items()},
        )


@dataclass(slots=True)
class Tally:
    records: int = 0
    policy_versions: set[str] = field(default_factory=set)
    purposes: set[str] = field(default_factory=set)
    legal_bases: set[str] = field(default_factory=set)
    data_categories: set[str] = field(default_factory=set)
    removed_by_reason: Counter[str] = field(default_factory=Counter)
    dead_letters: Counter[str] = field(default_factory=Counter)
    violations: Counter[str] = field(default_factory=Counter)
    kept_names: dict[Branch, set[str]] = field(default_factory=dict)
    """Object (``()`` for the payload) -> names of the keys kept in it; see :meth:`kept_fields`."""
    removed_fields: set[tuple[str, str]] = field(default_factory=set)
    """(evidence path, removal reason) of fields removed, at most :data:`MAX_REMOVED_PATHS`."""

    def add_tagged(self, record: TaggedRecord, branches: tuple[Branch, ...] = ()) -> None:
        """Count a tagged record; ``branches`` are its kind's (:attr:`PolicyTerms.branches`)."""
        self.records += 1
        self.policy_versions.add(record.policy_version)
        self.purposes.update(record.purposes)
        self.legal_bases.update(record.legal_bases)
        self.data_categories.update(record.data_categories)
        self._add_names((), record.payload)
        for branch in branches:  # a minimized payload holds only allow-listed objects: no walk over input keys
            node: Any = record.payload
            for name in branch:
                node = node.get(name) if isinstance(node, dict) else None
            if isinstance(node, dict):
                self._add_names(branch, node)
        for removed in record.removed:
            reason = removed.reason.value
            self.removed_by_reason[reason] += 1
            if len(self.removed_fields) < MAX_REMOVED_PATHS:
                self.removed_fields.add((removed.path, reason))

    def _add_names(self, branch: Branch, document: dict[str, Any]) -> None:
        names = self.kept_names.get(branch)
        if names is None:
            names = self.kept_names[branch] = set()
        names.update(document)  # the keys, at C speed; values are never looked at

    def kept_fields(self) -> list[str]:
        """Dotted paths of the payload fields that reached the output (``payload.bank_account.bank_code``)."""

        def expand(branch: Branch) -> Iterator[str]:
            for name in self.kept_names.get(branch, ()):
                path = (*branch, name)
                if path in self.kept_names:
                    yield from expand(path)
                else:
                    yield ".".join((PAYLOAD, *path))

        return sorted(expand(()))

    def add_dead_letter(self, letter: DeadLetter) -> None:
        self.records += 1
        self.dead_letters[letter.reason.value] += 1

    def add_evaluated(self, evaluated: Evaluated, terms: PolicyTerms) -> None:
        """Count a decision; purposes and data come from the input, so only the policy's own names are kept."""
        event, decision = evaluated.event, evaluated.decision
        self.records += 1
        if decision.policy_version is not None:
            self.policy_versions.add(decision.policy_version)
        if event.purpose in terms.purposes:
            self.purposes.add(event.purpose)
        if decision.legal_basis in terms.legal_bases:
            self.legal_bases.add(decision.legal_basis)
        for ref in event.data:
            category = ref.partition(".")[0]
            if category in terms.data_categories:
                self.data_categories.add(category)
        for violation in decision.violations:
            self.violations[violation.code] += 1

    def merge(self, other: Tally) -> None:
        """Add ``other``'s names and counts (job totals from per-dataset tallies)."""
        self.records += other.records
        self.policy_versions |= other.policy_versions
        self.purposes |= other.purposes
        self.legal_bases |= other.legal_bases
        self.data_categories |= other.data_categories
        self.removed_by_reason.update(other.removed_by_reason)
        self.dead_letters.update(other.dead_letters)
        self.violations.update(other.violations)


def merged(tallies: Iterable[Tally]) -> Tally:
    total = Tally()
    for tally in tallies:
        total.merge(tally)
    return total
