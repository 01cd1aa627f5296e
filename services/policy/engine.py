"""Decisions the stages take from the policy, precomputed once so they cost a dict lookup."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from schemas.policy import Policy, PolicyVersion


@dataclass(frozen=True, slots=True)
class PurposeGrant:
    """A purpose a record may be used for, and the legal basis that allows it."""

    purpose: str
    legal_basis: str
    article: str


class PolicyEngine:
    """Pure, deterministic answers to what the policy allows."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._version_dates: list[date] = [v.effective_from for v in policy.versions]
        self._zone = ZoneInfo(policy.timezone)
        self._allow_lists: dict[str, dict[str, str]] = {
            kind: dict(rule.fields) for kind, rule in policy.collection_kinds.items()
        }
        self._grants = lru_cache(maxsize=1024)(self._compute_grants)

    @property
    def policy_id(self) -> str:
        return self.policy.policy_id

    def allowed_fields(self, kind: str) -> Mapping[str, str]:
        """Payload field -> data category for ``kind``; empty when the policy does not know the kind."""
        return self._allow_lists.get(kind, {})

    def version_at(self, moment: datetime) -> PolicyVersion | None:
        """The policy version in force at ``moment``, or None before the policy was established.

        Version dates are days in the policy's own time zone, so one instant gets one version whatever
        offset it was written with.
        """
        index = bisect_right(self._version_dates, moment.astimezone(self._zone).date())
        return self.policy.versions[index - 1] if index else None

    def purposes_for(self, data_categories: Iterable[str], subject_type: str) -> tuple[PurposeGrant, ...]:
        """Purposes of use that may use *all* of ``data_categories`` of this subject type (Art. 3.1 table)."""
        return self._grants(frozenset(data_categories), subject_type)

    def _compute_grants(self, categories: frozenset[str], subject_type: str) -> tuple[PurposeGrant, ...]:
        if not categories:  # nothing was kept, so there is nothing to use
            return ()
        return tuple(
            PurposeGrant(purpose=key, legal_basis=purpose.legal_basis, article=purpose.article)
            for key, purpose in self.policy.purposes.items()
            if subject_type in purpose.data_subjects and categories <= set(purpose.data_categories)
        )
