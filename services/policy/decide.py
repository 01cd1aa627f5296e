"""Decide a use or disclosure against the policy: allowed or not, on which legal basis, and why not.

Pure and deterministic: the same request and policy always give the same decision, and nothing is read
from outside (consent and suspension state come in the request).

A violation's message names policy terms only (its purposes, data, data subjects, content types, registered
consignees and modules): a value of the request that the policy does not define is data the request brought, so
it is called what it is ("an undeclared purpose", "the consignee"), never quoted. Messages go into alerts, the
violations table and reports, where a request's own text would be copied to everyone who reads them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from schemas.decisions import Decision, DecisionRequest, ProvisionRecord, RecipientKind, Violation
from schemas.memo import BoundedMemo, held_by
from schemas.policy import PolicyVersion, Purpose
from services.policy.engine import PolicyEngine

Add = Callable[[Violation], None]
RememberedKey = tuple[object, ...]

REMEMBERED_DECISION_BYTES = 16 << 20
"""Bytes :meth:`Decider.decide_remembered` is charged at most for the decisions it keeps (then it starts afresh):
~12,000 distinct requests naming two data references (~1,300 bytes charged each), ~980 at every bound of the
contract (64 data references, 16 content types: ~17 KB). Counted in entries (16,384), disclosures near those
bounds held 131 MB (nineteenth red-team pass)."""

_DECISION_BYTES = 640
"""What a kept decision costs beside the texts of its key and its messages: the dict's slot (up to ~120 bytes),
the key's tuples (12 fields, 136; its data and content types, 40 each; an aggregate's pair, 56), the
:class:`Decision` (72) and its tuple of violations (40)."""

_VIOLATION_BYTES = 96
"""A :class:`Violation` (four slots, 64) and the slot of the tuple that refers to it, with rounding."""


def _named(value: str, terms: Collection[str], otherwise: str) -> str:
    """``'value'`` when the policy defines it, else ``otherwise``: a message quotes policy terms only."""
    return f"'{value}'" if value in terms else otherwise


class Decider:
    """Decisions for one policy; build once, call :meth:`decide` per request."""

    def __init__(self, engine: PolicyEngine, remembered_bytes: int = REMEMBERED_DECISION_BYTES) -> None:
        self.engine = engine
        self._remembered: BoundedMemo[RememberedKey, Decision] = BoundedMemo(remembered_bytes)
        policy = engine.policy
        self._rules = policy.violations
        self._excluded = frozenset(policy.excluded_content.types)
        self._exceptions = frozenset(k for k, b in policy.legal_bases.items() if b.third_party_exception)
        self._beyond_purposes = frozenset(k for k, b in policy.legal_bases.items() if b.beyond_purposes)
        self._consignees = policy.consignees.registered
        self._modules = policy.collection_modules.registered
        self._min_group = policy.statistics.min_group_size
        self._policy_id = policy.policy_id
        self._purposes = policy.purposes
        self._subjects = policy.data_subjects
        # The Art. 4.2 record fields the policy names (data_items and consent_obtained are checked on their own).
        self._record_fields = tuple(
            name
            for name in policy.third_party_provision.record_fields
            if name not in {"data_items", "consent_obtained"}
        )

    def _violation(self, code: str, message: str) -> Violation:
        rule = self._rules[code]
        return Violation(code=code, article=rule.article, severity=rule.severity, message=message)

    def decide(self, request: DecisionRequest) -> Decision:
        """The decision for ``request`` (a :class:`UseRequest`, or any request with its fields) under the policy
        version in force at ``request.at``."""
        return self._decide(request, self.engine.version_at(request.at))

    def decide_remembered(self, request: DecisionRequest) -> Decision:
        """:meth:`decide`, remembered by everything the decision depends on: a stream of uses and disclosures
        repeats few distinct requests (same service, purpose, data, recipient, state), and a decision is a pure
        function of them and the version in force, not of the moment itself.

        Requests carrying an Art. 4.2 record or a consent reference (they name one subject or one consent) are
        decided afresh, so that only repeating requests are kept. Decisions are immutable and shared. They are kept
        in :data:`REMEMBERED_DECISION_BYTES`, each charged its key's texts and its messages, whose sender chooses.
        """
        version = self.engine.version_at(request.at)
        if request.provision_record is not None or request.consent_reference is not None:
            return self._decide(request, version)
        recipient, aggregate, state = request.recipient, request.aggregate, request.subject_state
        data, content_types = tuple(request.data), tuple(request.content_types)
        # Every field _decide reads, but the record and the consent reference (None here) and ``at`` (the version).
        key: RememberedKey = (
            version.version if version is not None else None,
            request.purpose,
            data,
            content_types,
            request.subject_type,
            recipient.kind,
            recipient.id,
            request.legal_basis,
            request.consent_granted,
            None if aggregate is None else (aggregate.group_size, aggregate.identifies),
            state.suspended,
            state.deleted,
        )
        decision = self._remembered.get(key)
        if decision is None:
            decision = self._decide(request, version)
            texts = [request.purpose, request.subject_type, recipient.id, request.legal_basis or ""]
            texts += [violation.message for violation in decision.violations]
            charge = held_by(data) + held_by(content_types) + held_by(texts)
            charge += _DECISION_BYTES + _VIOLATION_BYTES * len(decision.violations)
            self._remembered.remember(key, decision, charge)
        return decision

    def _decide(self, request: DecisionRequest, version: PolicyVersion | None) -> Decision:
        # What this reads of the request is what decide_remembered keys its decisions by: keep the two together.
        found: list[Violation] = []
        add = found.append
        engine = self.engine

        if request.subject_state.deleted:
            add(self._violation("use_after_deletion", "the subject's data was deleted on request"))
        elif request.subject_state.suspended:
            add(self._violation("use_after_suspension", "the subject requested suspension of use"))

        for content in request.content_types:
            if content in self._excluded:
                add(self._violation("excluded_content", f"'{content}' is never collected, used or disclosed"))
            else:
                add(self._violation("unknown_data", "a content type the policy does not declare"))

        data = tuple(request.data)
        if not engine.known_refs.issuperset(data):
            unknown = len(set(data) - engine.known_refs)
            references = "a data reference" if unknown == 1 else f"{unknown} data references"
            add(self._violation("unknown_data", f"{references} the policy does not declare"))
        items = engine.expand_cached(data)

        purpose = self._purposes.get(request.purpose)
        third_party = request.recipient.kind is RecipientKind.THIRD_PARTY
        exception = request.legal_basis if third_party and request.legal_basis in self._beyond_purposes else None
        if exception is not None:
            # A provision on Art. 4.1(1)-(4) (APPI Art. 18(3)) is decided on the exception's own terms, not on a
            # table purpose; recorded with it as its legal basis. Only a provision: an internal use claiming an
            # exception is still held to the purposes of use.
            if version is None:
                add(self._violation("purpose_not_in_force", "no version of the policy was in force at that time"))
        elif purpose is None:
            add(self._violation("unknown_purpose", "an undeclared purpose, not in the policy"))
        else:
            self._check_purpose(request, purpose, items, version, add)

        legal_basis = exception or (purpose.legal_basis if purpose is not None else None)
        kind = request.recipient.kind
        if kind is RecipientKind.THIRD_PARTY and not self._is_statistic(request, purpose):
            legal_basis = self._check_third_party(request, add)
        elif kind is RecipientKind.CONSIGNEE:
            self._check_consignee(request, add)
        elif kind is RecipientKind.COLLECTION_MODULE:
            self._check_module(request, items, add)

        return Decision(
            allowed=not found,
            legal_basis=legal_basis if not found else None,
            policy_id=self._policy_id,
            policy_version=version.version if version is not None else None,
            violations=tuple(found),
        )

    def _check_purpose(
        self, request: DecisionRequest, purpose: Purpose, items: frozenset[str], version: PolicyVersion | None, add: Add
    ) -> None:
        if version is None:
            add(self._violation("purpose_not_in_force", "no version of the policy was in force at that time"))
        elif not self.engine.purpose_in_force(purpose, version):
            add(self._violation("purpose_not_in_force", f"'{request.purpose}' was published after that time"))
        if request.subject_type not in purpose.data_subjects:
            add(
                self._violation(
                    "subject_not_permitted_for_purpose",
                    f"'{request.purpose}' does not cover data of {self._subject(request.subject_type)}",
                )
            )
        covered = request.subject_type in purpose.data_subjects
        others_only = self.engine.purpose_items[request.purpose] - self.engine.items_for(
            request.purpose, request.subject_type
        )
        limited = items & others_only
        if covered and limited:  # items the purpose uses only of other subjects (a per-entry limit)
            add(
                self._violation(
                    "subject_not_permitted_for_purpose",
                    f"'{request.purpose}' uses {', '.join(sorted(limited))} only of other data subjects than "
                    f"{self._subject(request.subject_type)}",
                )
            )
        outside = items - self.engine.purpose_items[request.purpose]
        if outside:
            add(
                self._violation(
                    "data_not_permitted_for_purpose",
                    f"'{request.purpose}' may not use {', '.join(sorted(outside))}",
                )
            )
        if purpose.aggregate_only and not self._is_statistic(request, purpose):
            add(
                self._violation(
                    "statistics_not_aggregate",
                    f"statistics must be non-identifying aggregates of at least {self._min_group} people",
                )
            )

    def _subject(self, subject_type: str) -> str:
        return "a " + subject_type if subject_type in self._subjects else "a data subject the policy does not declare"

    def _is_statistic(self, request: DecisionRequest, purpose: Purpose | None) -> bool:
        """A non-identifying aggregate is no provision of personal data (Art. 3.4)."""
        aggregate = request.aggregate
        return (
            purpose is not None
            and purpose.aggregate_only
            and aggregate is not None
            and not aggregate.identifies
            and aggregate.group_size >= self._min_group
        )

    def _check_third_party(self, request: DecisionRequest, add: Add) -> str | None:
        claimed = request.legal_basis
        if claimed in self._exceptions:
            return claimed
        if claimed == "consent" and request.consent_granted and request.consent_reference:
            record = request.provision_record
            missing = self._missing_record_fields(record)
            if missing:
                add(self._violation("provision_record_incomplete", f"the record lacks {', '.join(missing)}"))
            elif record is not None:
                unlisted = self.engine.expand(request.data) - self.engine.expand(record.data_items)
                if unlisted:
                    add(
                        self._violation(
                            "provision_record_incomplete",
                            f"the record's data items do not list {', '.join(sorted(unlisted))}",
                        )
                    )
            return "consent"
        add(
            self._violation(
                "third_party_without_consent",
                "provision to a third party needs the user's consent or a listed exception (Art. 4.1(1)-(5))",
            )
        )
        return None

    def _missing_record_fields(self, record: ProvisionRecord | None) -> list[str]:
        if record is None:
            return ["the whole record"]
        missing = [] if record.consent_obtained else ["consent_obtained"]
        missing += [
            name for name in self._record_fields if not getattr(record, name, None) and name not in record.withheld
        ]
        # A text the monitor withheld (it held what no name or address may) leaves the record incomplete, whether
        # or not the policy requires it: what the record says of its recipient is not what the service sent.
        missing += [f"{name} (withheld: not a name or address)" for name in record.withheld]
        if not record.data_items:
            missing.append("data_items")
        return missing

    def _check_consignee(self, request: DecisionRequest, add: Add) -> None:
        consignee = self._consignees.get(request.recipient.id)
        if consignee is None:  # its id is the request's, not the policy's: not quoted
            add(self._violation("consignee_not_registered", "the consignee is not registered"))
            return
        if not consignee.confidentiality_agreement:
            add(
                self._violation(
                    "consignee_without_confidentiality", f"no confidentiality agreement with '{request.recipient.id}'"
                )
            )
        if request.purpose not in consignee.purposes:
            add(
                self._violation(
                    "consignee_outside_purpose",
                    f"'{request.recipient.id}' is not engaged for "
                    + _named(request.purpose, self._purposes, "an undeclared purpose"),
                )
            )

    def _check_module(self, request: DecisionRequest, items: frozenset[str], add: Add) -> None:
        if request.recipient.id not in self._modules:
            add(self._violation("module_not_registered", "the module is not named in the policy"))
        identifying = items & self.engine.identifiable_items
        if identifying:
            add(
                self._violation(
                    "module_receives_identifiable_data",
                    _named(request.recipient.id, self._modules, "an unregistered module")
                    + " may receive no personally identifiable information: "
                    + ", ".join(sorted(identifying)),
                )
            )
