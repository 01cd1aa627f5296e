"""Reduce a typed payload to what the policy allows, with evidence of everything removed.

The contract decides what exists: a payload is reduced by walking it with its *record model* — the fields its
record type defines, then the unknown keys it carried. A key is never read as a path, so
``"organization.name"`` sent as one key is an unknown key, not the allow-listed ``organization`` → ``name``.
A field is kept only when its model defines it and the policy allows it on that record type; a kept free-text
value then passes the content detectors (:mod:`services.stages.detectors`).

Evidence is a path, a size and a reason — never content, never a hash of it (a hash of a short value can be
reversed by guessing). The reason is ``excluded_content`` whenever what was removed is, or hides, message or
attachment content (Art. 2.1(2)): a marker in a key name (any case, width, language), a header entry named
Subject, encoded content, or a field the policy says is content on that record type (an e-mail's title).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from typing import Any, TypeVar, get_args
from urllib.parse import parse_qsl

import msgspec
import orjson
from pydantic import BaseModel

from schemas.events import kept_canonical, kept_text_bound
from schemas.memo import remembered
from schemas.policy import CollectionKindRule, FieldRule
from services.policy.engine import PolicyEngine, normalize_key
from services.records import REST_PATH, FlaggedField, RemovalReason, RemovedField
from services.stages.detectors import (
    JUDGED_CHARS,
    JUDGED_CHARS_PER_EVENT,
    MAX_HIDDEN,
    detect,
    hidden_count,
    looks_encoded,
    replied,
    split_content,
    visible,
)
from services.stages.errors import KEY_WORDS, Vocabulary, extended_vocabulary, safe_name
from services.stages.identifiers import IdentifierKind, find_identifiers

_SEGMENT = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
"""A policy field path's segment: a key that is not one can never name an allow-listed field."""
_HEADER_NAME_KEYS = frozenset({"name", "key", "field", "header"})
_HEADER_LINE = re.compile(r"^\s*([^\s:]{2,40})\s*[:\uff1a]")  # ASCII or full-width colon


@dataclass(frozen=True, slots=True, eq=False)
class Markers:
    """How the policy recognises excluded content by name.

    Compared and hashed by identity (``eq=False``): ``marks`` is cached per instance, and hashing the markers
    themselves on every call cost more than the cache saved.
    """

    anywhere: tuple[str, ...]
    """Normalized markers found anywhere in a normalized key (``emailbody`` has ``body``)."""
    words: frozenset[str]
    """Markers that count only as a whole word of a key (``post``, not ``postal_code``)."""

    def marks(self, name: str) -> bool:
        """Does the key ``name`` mark excluded content?"""
        return _marks(name, self)


@remembered(maxsize=8192)  # a handful of Markers live as long as the process; keys repeat
def _marks(name: str, markers: Markers) -> bool:
    normalized = normalize_key(name)
    if any(marker in normalized for marker in markers.anywhere):
        return True
    if not markers.words:
        return False
    for word in KEY_WORDS.findall(unicodedata.normalize("NFKC", name)):
        folded = word.casefold()
        if folded in markers.words or (folded.endswith("s") and folded[:-1] in markers.words):
            return True
    return False


@dataclass(frozen=True, slots=True)
class KeptField:
    """One allow-listed field path: the item it is collected as, and on which record types."""

    item: str
    record_types: frozenset[str] | None
    """None: on every record type."""
    elsewhere: RemovalReason


@dataclass(frozen=True)
class AllowList:
    """One kind's allow-list: field path -> :class:`KeptField`, plus the markers of excluded content."""

    fields: Mapping[str, KeptField]
    markers: Markers
    record_type_field: str | None = None
    identifier_paths: frozenset[str] = frozenset()
    """Kept text fields checked for identifiers (:mod:`services.stages.identifiers`), removed on a hit."""
    flag_paths: frozenset[str] = frozenset()
    """Kept text fields checked the same way, kept and flagged on a hit."""
    evidence_names: tuple[str, ...] = ()
    """Names of fields no kind collects whose words may name a removal (the policy's ``evidence_names``)."""

    @classmethod
    def of(cls, rule: CollectionKindRule, markers: Markers, evidence_names: tuple[str, ...] = ()) -> AllowList:
        fields = {
            path: KeptField(spec.item, frozenset(spec.record_types), RemovalReason(spec.elsewhere))
            if isinstance(spec, FieldRule)
            else KeptField(spec, None, RemovalReason.NOT_ALLOWED)
            for path, spec in rule.fields.items()
        }
        return cls(
            fields=fields,
            markers=markers,
            record_type_field=rule.record_type_field,
            identifier_paths=frozenset(rule.redact_identifiers),
            flag_paths=frozenset(rule.flag_identifiers),
            evidence_names=evidence_names,
        )

    @property
    def leaves(self) -> Mapping[str, str]:
        """Every allow-listed path -> ``category.item``, whatever the record type."""
        return {path: kept.item for path, kept in self.fields.items()}

    @property
    def branches(self) -> frozenset[str]:
        """Paths of objects the allow-list descends into (``bank_account`` for ``bank_account.bank_code``)."""
        return _branches(frozenset(self.fields))

    @cached_property
    def record_types(self) -> frozenset[str]:
        """The record types some field is limited to: any other keeps what every record type keeps."""
        return frozenset(kind for kept in self.fields.values() for kind in kept.record_types or ())

    def leaves_for(self, record_type: str | None) -> Mapping[str, str]:
        """Path -> ``category.item`` of the fields kept on ``record_type``."""
        return _leaves_for(self, record_type)

    def removal_reason(self, path: str, name: str, value: Any, budget: JudgingBudget) -> RemovalReason:
        """Why the field at ``path`` (key ``name``) is removed: excluded content, or merely not allowed.

        ``budget`` is the event's: what its removed values are read for, together (see :class:`JudgingBudget`).
        """
        kept = self.fields.get(path)
        if kept is not None and kept.elsewhere is RemovalReason.EXCLUDED_CONTENT:
            return RemovalReason.EXCLUDED_CONTENT
        if marked(name, value, self.markers, budget):
            return RemovalReason.EXCLUDED_CONTENT
        return RemovalReason.NOT_ALLOWED

    def __hash__(self) -> int:
        return id(self)

    @cached_property
    def vocabulary(self) -> Vocabulary:
        """Words a removed key's name may be shown with: the contract's, the markers', header lists', the paths',
        the policy's evidence names'."""
        names = (*self.markers.anywhere, *self.markers.words, *_HEADER_NAME_KEYS, *self.fields, *self.evidence_names)
        return extended_vocabulary(names)


@remembered(maxsize=8192, expanding=True)
def _folded(name: str) -> str:
    """A key as a policy path segment, for its removal reason: any width and case (full-width TITLE too)."""
    return unicodedata.normalize("NFKC", name).casefold()


@cache
def _branches(paths: frozenset[str]) -> frozenset[str]:
    return frozenset(".".join(path.split(".")[:depth]) for path in paths for depth in range(1, path.count(".") + 1))


@lru_cache(maxsize=256)
def _leaves_for(allow: AllowList, record_type: str | None) -> Mapping[str, str]:
    return {
        path: kept.item
        for path, kept in allow.fields.items()
        if kept.record_types is None or record_type in kept.record_types
    }


@dataclass(frozen=True, slots=True)
class _Step:
    """What the walk does with one declared field of a model, on one record type, under one prefix."""

    name: str
    path: str
    """The policy's path of the field (``organization.name``)."""
    shown: str
    """Its path in evidence (``payload.organization.name``)."""
    model: type[BaseModel] | None
    """The model of its values when they are objects to descend into (``organization``)."""
    item: str | None
    """``category.item`` it is kept as on this record type; None: removed wherever it stands."""
    bound: int | None
    """Its kept length bound, for a free-text field."""
    title: bool
    """A calendar entry's title, which alone may open with one reply prefix (:class:`schemas.events.KeptText`)."""
    redact_identifiers: bool
    flag_identifiers: bool
    canonical: Callable[[Any], Any] | None
    """The spelling a kept value is kept in (a time, an address: :class:`schemas.events.KeptCanonical`)."""


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _steps(allow: AllowList, record_type: str | None, model: type[BaseModel], prefix: str) -> tuple[_Step, ...]:
    """The declared fields of ``model`` in declaration order, each decided as far as its value does not matter.

    Computed once per allow-list, record type, model and prefix, by :func:`_walker` (cached): a record pays for its
    values only.
    """
    leaves = allow.leaves_for(record_type)
    steps: list[_Step] = []
    for name, info in model.model_fields.items():
        bound = kept_text_bound(info)
        canonical = kept_canonical(info)
        path = prefix + name
        steps.append(
            _Step(
                name=name,
                path=path,
                shown=f"payload.{path}",
                model=_nested_model(info.annotation),
                item=leaves.get(path),
                bound=bound.max_chars if bound is not None else None,
                title=bound is not None and bound.title,
                redact_identifiers=path in allow.identifier_paths,
                flag_identifiers=path in allow.flag_paths,
                canonical=canonical.canonical if canonical is not None else None,
            )
        )
    return tuple(steps)


@cache
def _declared(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(model.model_fields)


@lru_cache(maxsize=4096)
def _sorted_items(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(set(items)))


class Reduction(msgspec.Struct, frozen=True, gc=False):
    """A payload reduced to what is kept, with the items it is kept as and evidence of the rest."""

    kept: dict[str, Any]
    items: tuple[str, ...]
    removed: tuple[RemovedField, ...]
    flagged: tuple[FlaggedField, ...] = ()


def size_of(value: Any) -> int:
    """Bytes of ``value`` as compact JSON."""
    try:
        return len(orjson.dumps(value))
    except TypeError:  # integers beyond 64 bits: orjson refuses them, the standard library does not
        return len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8"))


class JudgingBudget:
    """How many characters of one event's removed values are read for their reason, all of them together.

    The reason of a removed value is evidence, not a decision (the value is removed either way), so its cost is
    bounded per event: each value is read up to :data:`JUDGED_CHARS`, and the event's values up to
    :data:`JUDGED_CHARS_PER_EVENT` together. A value past it is named ``excluded_content`` unread: no legitimate
    event removes that much, and the verdict that costs nothing to defend is the one that claims more. Before,
    only each value was bounded: a 62 KB event of random tokens under unknown keys took 3 s, a megabyte ~50 s
    (eighth red-team pass).
    """

    __slots__ = ("left",)

    def __init__(self, chars: int = JUDGED_CHARS_PER_EVENT) -> None:
        self.left = chars

    def spend(self, chars: int) -> bool:
        """Take ``chars`` from the budget; False when it has run out."""
        if self.left <= 0:
            return False
        self.left -= chars
        return True


MAX_KEY_CHARS = 256
"""The longest key name that is read: no contract or policy names a key anywhere near it. A longer one, or one past
the event's judging budget, is removed as excluded content unread, shown as '?'."""


def _unread_name(name: str, budget: JudgingBudget) -> bool:
    """Is the key ``name`` past what is read of an event's names (see :func:`_name_judged`), before it is spent?"""
    return len(name) > MAX_KEY_CHARS or budget.left <= 0


def _name_judged(name: str, budget: JudgingBudget) -> bool:
    """May ``name``, a key the sender chose, be read for its reason? Its characters count against the event's
    budget (:class:`JudgingBudget`), as removed values do: key names are normalized (NFKC makes up to 18
    characters of one), and 900 KB of them cost 1.7-2.1 s an event (nineteenth red-team pass)."""
    return len(name) <= MAX_KEY_CHARS and budget.spend(len(name))


def marked(name: str, value: Any, markers: Markers, budget: JudgingBudget) -> bool:
    """Does this key, or anything inside its value, mark or hold excluded content?"""
    if name and (not _name_judged(name, budget) or markers.marks(name)):
        return True
    if isinstance(value, Mapping):
        # A header list entry ({"name": "Subject", "value": …}) names its content in a value, not a key.
        for key, inner in value.items():
            if str(key).casefold() in _HEADER_NAME_KEYS and isinstance(inner, str) and markers.marks(inner):
                return True
        return any(marked(str(k), v, markers, budget) for k, v in value.items())
    if isinstance(value, list):
        return any(marked("", v, markers, budget) for v in value)
    if isinstance(value, str):
        if not budget.spend(min(len(value), JUDGED_CHARS)):
            return True
        header = _HEADER_LINE.match(value)  # a raw header line: "Subject: Re: overtime"
        return (header is not None and markers.marks(header.group(1))) or looks_encoded(value)
    return False


def _holds_content(value: Any, bound: int, title: bool, markers: Markers) -> bool:
    """Does a kept free-text value hold excluded content: a detector's finding, a reply prefix outside a title, a
    marked key with a message after it? Kept values come again and again: a short one is judged once while recent,
    one lookup where the three verdicts' own caches would be three (minimization 6.3 vs 6.9-7.2 us an event, warm)."""
    if not isinstance(value, str) or len(value) > bound:  # longer: too long, at once (nothing worth remembering)
        return _judged(value, bound, title, markers)
    return _judged_recent(value, bound, title, markers)


def _judged(value: Any, bound: int, title: bool, markers: Markers) -> bool:
    if detect(value, bound) is not None:
        return True
    return isinstance(value, str) and ((not title and replied(value)) or marked_pair(value, markers))


_judged_recent = lru_cache(maxsize=16_384)(_judged)


def record_text_refusal(value: str, markers: Markers) -> str | None:
    """Why the free text of an Art. 4.2 record (a recipient's name, address or representative) may not be kept,
    or None: judged as a kept free-text field of a collection event is — a detector's finding, one reply prefix
    (but in a company's name: "Re:ワーク合同会社"), a message after a key the policy marks — and a My Number, which
    no company's record holds (fifteenth red-team pass: the monitor ran the detectors alone, and kept "Re: 給与削減
    の件", "/chat/send?text=…" and a My Number in provision records that are handed out). A telephone number is
    part of a company's address block (its office, its fax: sixteenth pass). The reason names a rule, never the
    value."""
    finding = detect(value, RECORD_TEXT_CHARS)
    if finding is not None:
        return f"{finding.value} content"
    if replied(value) and _CORPORATE.search(value) is None:
        return "a reply prefix"
    if marked_pair(value, markers):
        return "a message after a marked key"
    if IdentifierKind.MY_NUMBER in find_identifiers(value):
        return "a personal number"
    return None


_CORPORATE = re.compile(
    r"株式会社|合同会社|有限会社|合資会社|合名会社|[一公]般[社財]団法人|[(\uff08][株有同][)\uff09]|㈱|㈲"
    r"|\b(?:K\.K\.|Inc\.|Ltd\.|LLC|Co\., ?Ltd|Corp(?:oration|\.)|GmbH|G\.K\.)",
    re.IGNORECASE,
)
"""A company's legal form, which a message subject does not name."""


RECORD_TEXT_CHARS = 256
"""The longest free text of an Art. 4.2 record (:data:`schemas.decisions.RecordText`)."""


@cache
def markers_of(engine: PolicyEngine) -> Markers:
    """The markers of ``engine``'s policy: one instance per engine, whose verdicts are cached per instance."""
    return Markers(anywhere=engine.excluded_markers, words=engine.excluded_word_markers)


def marked_pair(value: str, markers: Markers) -> bool:
    """Does ``value`` write a key the policy marks, with a message after it, where messages are sent — a logged
    request ("/chat/send?text=明日の会議は中止です", "?msg_body=…", "/board?投稿=…"), a logfmt line
    ('event=message_posted text="…"'), a call ("ChatMessage(text='…')"), an object ("{text: '…'}")? As a payload
    key, the same key and value are removed (twelfth and thirteenth red-team passes: kept in a value).

    A marker alone names much else: a search ("?text=" of a wiki), a help topic ("?content="), a calendar entry's
    title (Google Calendar's "text="), an approval's comment (fourteenth pass: 49-100 % of such values were
    removed). So the key, or the rest of the value, must name messaging (:data:`_MESSAGING`), and what follows the
    key must be a sentence, not a token or a word ("?topic=leave_policy", "?message=保存しました").
    """
    return len(value) <= JUDGED_CHARS and _SEPARATORS.search(value) is not None and _marked_pair(value, markers)


@remembered(maxsize=16_384)
def _marked_pair(value: str, markers: Markers) -> bool:
    # As the detectors read it: a full-width equals sign or colon is the ASCII one, a Cyrillic "ie" in "text" the
    # Latin "e" (twenty-third red-team pass: a look-alike letter in the key hid "/chat/send?text=…").
    value = visible(value)
    pairs = [(match.group(1), match.group(3) if match.group(2) else match.group(4)) for match in _PAIR.finditer(value)]
    if "?" in value:  # a query, read as a server reads it ("+" a blank, escapes undone)
        pairs += parse_qsl(value.partition("?")[2].partition("#")[0], errors="replace")
    for key, text in pairs:
        if _sentence(text) and markers.marks(key):
            context = value.replace(text, " ").casefold()
            if _MESSAGE_KEY.search(key.casefold()) or _MESSAGING.search(context):
                return True
    return False


def _sentence(text: str) -> bool:
    """A message after its key, not a word or a name: eight characters or more beyond ASCII, or three words."""
    text = text.strip()
    return sum(1 for char in text if not char.isascii()) >= _MESSAGE_CHARS or len(text.split()) >= _MESSAGE_WORDS


_SEPARATORS = re.compile("[=:\uff1d\uff1a]|--")
_PAIR = re.compile(
    r"""(?:^|[?&;\s(,{])-{0,2}([^\s=:&?;(),{}'"-][^\s=:&?;(),{}'"]{0,39})"""
    r"""[ \t]*(?:=>?|:|[ \t](?=['"]))[ \t]*(?:(['"])([^'"\n]*)\2|([^&\s'"]*))"""
)
"""A key, "=" (":", "=>", or a blank before a quote: an object, a hash, a command's flag), and a value quoted or
running to the next "&" or blank; a query is also read whole by :func:`urllib.parse.parse_qsl`."""
_MESSAGING = re.compile(
    r"chat|message|msg|mail|post|send|reply|tweet|\bdm\b|slack|teams|discord|line ?works"
    r"|メッセージ|チャット|メール|投稿|送信|返信|ツイート|発言|つぶやき"
)
"""Words that name sending a message, in a key or around it."""
_MESSAGE_KEY = re.compile(rf"{_MESSAGING.pattern}|body|transcript|本文")
"""A key that names a message itself ("?body=", "?transcript="), whatever is around it."""
_MESSAGE_CHARS = 8
_MESSAGE_WORDS = 3


def reduce(payload: Mapping[str, Any], model: type[BaseModel], allow: AllowList) -> Reduction:
    """Keep the fields ``model`` defines and the policy allows on the record's type; evidence the rest.

    ``payload`` is valid under ``model`` (ingest checked it): a declared field holds its type, a nested model's
    field an object. Declared fields are visited in declaration order, unknown keys after them, sorted.
    """
    record_type = payload.get(allow.record_type_field) if allow.record_type_field is not None else None
    # A record type the policy names nowhere keeps what no record type at all keeps: walked as None, so there is
    # one walk per record type the policy names, whatever a payload calls itself (a policy may name any field its
    # record type, a free text too; each new text compiled a walk of its own).
    record_type = record_type if isinstance(record_type, str) and record_type in allow.record_types else None
    walk = _Walk(allow)
    kept: dict[str, Any] = {}
    _walker(allow, record_type, model, "")(walk, payload, kept)
    if walk.hidden > MAX_HIDDEN:
        walk.drop_hiding(kept)
    if len(walk.texts) > 1:  # a message split among kept free texts, each piece too short to be judged alone
        present = [(into, step) for into, step in walk.texts if step.name in into]  # not dropped just now
        carriers = split_content([into[step.name] for into, step in present])
        if carriers:
            walk.drop([present[index] for index in carriers])
            _prune(kept)
    return Reduction(kept, _sorted_items(tuple(walk.items)), _listed(walk.removed), tuple(walk.flagged))


MAX_LISTED_REMOVALS = 64
"""Removals an event's evidence lists one by one (path, size, reason); the rest are summed up by reason under
:data:`REST_PATH`. Each listed size and name is chosen by the sender: 51,131 unknown keys in one event spelled
~25 KB of text in their sizes, and vocabulary words in their names 29 bits a key (fifteenth red-team pass)."""


def _listed(removed: list[RemovedField]) -> tuple[RemovedField, ...]:
    if len(removed) <= MAX_LISTED_REMOVALS:
        return tuple(removed)
    # Excluded content first: where a message was is the evidence that matters most (sixteenth red-team pass: a
    # wide export's removed message body was summed up under the rest).
    removed = sorted(removed, key=lambda field: field.reason is not RemovalReason.EXCLUDED_CONTENT)
    summed = _summed_beyond(removed, lambda field: (field.reason, field.size))
    return (*removed[:MAX_LISTED_REMOVALS], *(RemovedField(REST_PATH, size, reason) for reason, size in summed))


E = TypeVar("E")
R = TypeVar("R")


def _summed_beyond(entries: Sequence[E], reason_and_size: Callable[[E], tuple[R, int]]) -> list[tuple[R, int]]:
    """The total size of the entries beyond :data:`MAX_LISTED_REMOVALS`, per reason, in the order reasons come."""
    rest: dict[R, int] = {}
    for entry in entries[MAX_LISTED_REMOVALS:]:
        reason, size = reason_and_size(entry)
        rest[reason] = rest.get(reason, 0) + size
    return list(rest.items())


def _prune(kept: dict[str, Any]) -> None:
    """Drop the objects left empty by a removal after the walk."""
    for name, value in list(kept.items()):
        if isinstance(value, dict):
            _prune(value)
            if not value:
                del kept[name]


class _Walk:
    """One payload's walk: what it keeps as which items, and the evidence of what it removes (the walk itself is
    :func:`_walker`'s, generated per model)."""

    __slots__ = ("allow", "budget", "flagged", "hidden", "hiding", "items", "removed", "texts")

    def __init__(self, allow: AllowList) -> None:
        self.allow = allow
        self.hidden = 0
        """Characters that show nothing in the kept values, all together (:func:`detectors.hidden_count`)."""
        self.hiding: list[tuple[dict[str, Any], _Step]] = []
        """Where each kept value that holds one is: if the event holds more than one value may, none is kept
        (ninth red-team pass: four in each of four fields spelled a message)."""
        self.items: list[str] = []
        self.texts: list[tuple[dict[str, Any], _Step]] = []
        """Where each kept free-text value is, in the walk's order: read together for a message split among them
        (:func:`detectors.split_content`)."""
        self.removed: list[RemovedField] = []
        self.flagged: list[FlaggedField] = []
        self.budget = JudgingBudget()

    def drop_hiding(self, kept: dict[str, Any]) -> None:
        """Remove every kept value that holds a character that shows nothing, as excluded content."""
        self.drop(self.hiding)
        _prune(kept)

    def drop(self, entries: Sequence[tuple[dict[str, Any], _Step]]) -> None:
        """Remove the kept values at ``entries`` as excluded content (objects they leave empty stay: see
        :func:`_prune`)."""
        for into, step in entries:
            value = into.pop(step.name)
            self.items.remove(step.item or "")
            self.removed.append(RemovedField(step.shown, size_of(value), RemovalReason.EXCLUDED_CONTENT))

    def unknown_keys(self, node: Mapping[str, Any], declared: frozenset[str], prefix: str) -> None:
        """Evidence the keys of ``node`` its model does not declare, sorted: none is ever kept."""
        allow = self.allow
        for name in sorted(key for key in node if key not in declared):
            value = node[name]
            if _unread_name(name, self.budget):
                self.removed.append(RemovedField(f"payload.{prefix}?", size_of(value), RemovalReason.EXCLUDED_CONTENT))
                continue
            path, shown = _unknown_key_paths(name, prefix, allow)
            reason = allow.removal_reason(path, name, value, self.budget)
            self.removed.append(RemovedField(shown, size_of(value), reason))


@remembered(maxsize=8192, expanding=True)
def _unknown_key_paths(name: str, prefix: str, allow: AllowList) -> tuple[str, str]:
    """An unknown key's path as the policy's paths are compared with for its removal reason — folded: never kept,
    whatever it spells ("organization.name", a full-width "TITLE") — and its path in evidence (only words of the
    allow-list's vocabulary shown). Unknown keys come again and again (a service's extra fields): once each."""
    return prefix + _folded(name), "payload." + prefix + safe_name(name, allow.vocabulary)


_Walker = Callable[[_Walk, Mapping[str, Any], dict[str, Any]], None]


@lru_cache(maxsize=1024)
def _walker(allow: AllowList, record_type: str | None, model: type[BaseModel], prefix: str) -> _Walker:
    """The walk of an object valid under ``model`` at ``prefix`` on ``record_type``, written out field by field.

    Each declared field's fate that does not depend on its value (:func:`_steps`: removed wherever it stands,
    judged as free text, checked for identifiers, kept canonical) is decided here, once, and only what depends on
    the value is left to run: the walk interpreted the steps' flags for every field of every event, 30 % of
    minimization. Generated as source, as :mod:`schemas.decoder` generates its checks: the field names are
    identifiers of the model (``str.isidentifier``, no dunder), written as literals; every other value is
    referenced by name, never inlined as text.
    """
    namespace: dict[str, Any] = {
        "OBJECT": (dict, Mapping),  # a parsed JSON object is a dict: checked before the slower Mapping ABC
        "RemovedField": RemovedField,
        "FlaggedField": FlaggedField,
        "EXCLUDED_CONTENT": RemovalReason.EXCLUDED_CONTENT,
        "IDENTIFIER_IN_FREE_TEXT": RemovalReason.IDENTIFIER_IN_FREE_TEXT,
        "size_of": size_of,
        "holds_content": _holds_content,
        "find_identifiers": find_identifiers,
        "hidden_count": hidden_count,
        "walker": _walker,
        "allow": allow,
        "record_type": record_type,
        "markers": allow.markers,
        "declared": _declared(model),
    }
    lines = [
        "def walk(self, node, into):",
        "    get = node.get",
        "    removed = self.removed",
    ]
    for number, step in enumerate(_steps(allow, record_type, model, prefix)):
        if not step.name.isidentifier() or step.name.startswith("__"):
            raise ValueError(f"{step.name!r} cannot be a generated field name")
        namespace[f"step_{number}"] = step
        lines += [f"    value = get({step.name!r})", "    if value is not None:"]
        leaf = _leaf_lines(step, number, namespace)
        if step.model is not None:
            namespace[f"model_{number}"] = step.model
            lines += [
                "        if isinstance(value, OBJECT):",
                "            inner = {}",
                f"            walker(allow, record_type, model_{number}, {step.path + '.'!r})(self, value, inner)",
                "            if inner:",
                f"                into[{step.name!r}] = inner",
                "        else:",
                *("    " + line for line in leaf),
            ]
        else:
            lines += leaf
    lines += [
        "    if len(node) > len(declared) or not declared.issuperset(node):",
        f"        self.unknown_keys(node, declared, {prefix!r})",
    ]
    exec("\n".join(lines), namespace)  # noqa: S102 - source built above from identifiers and literals only
    walk: _Walker = namespace["walk"]
    return walk


def _leaf_lines(step: _Step, number: int, namespace: dict[str, Any]) -> list[str]:
    """The lines that decide a value of ``step`` that is not an object to descend into (indented for an ``if``)."""
    shown, name = f"step_{number}.shown", repr(step.name)
    if step.item is None:
        return [
            f"        reason = allow.removal_reason(step_{number}.path, {name}, value, self.budget)",
            f"        removed.append(RemovedField({shown}, size_of(value), reason))",
        ]
    branches: list[str] = []
    if step.bound is not None:
        branches += [
            f"        if holds_content(value, {step.bound!r}, {step.title!r}, markers):",
            f"            removed.append(RemovedField({shown}, size_of(value), EXCLUDED_CONTENT))",
        ]
    if step.redact_identifiers:
        branches += [
            f"        {'elif' if branches else 'if'} isinstance(value, str) and find_identifiers(value):",
            f"            removed.append(RemovedField({shown}, size_of(value), IDENTIFIER_IN_FREE_TEXT))",
        ]
    kept = "value"
    if step.canonical is not None:
        namespace[f"canonical_{number}"] = step.canonical
        kept = f"canonical_{number}(value)"
    keep = [
        f"into[{name}] = {kept}",
        f"self.items.append(step_{number}.item)",
        *([f"self.texts.append((into, step_{number}))"] if step.bound is not None else []),
        "if isinstance(value, str) and (hidden := hidden_count(value)):",
        "    self.hidden += hidden",
        f"    self.hiding.append((into, step_{number}))",
    ]
    if step.flag_identifiers:
        keep += [
            "if isinstance(value, str) and (found := find_identifiers(value)):",
            f"    self.flagged.append(FlaggedField({shown}, tuple(kind.value for kind in found)))",
        ]
    if branches:
        return [*branches, "        else:", *("            " + line for line in keep)]
    return ["        " + line for line in keep]


def inventory(document: Mapping[str, Any], allow: AllowList | None) -> list[dict[str, Any]]:
    """Path, size and disposition of every field of a refused event's raw payload — never a value; beyond
    :data:`MAX_LISTED_REMOVALS` fields, the rest summed up by disposition under :data:`REST_PATH`.

    The event broke its contract, so there is no model to walk: keys are matched against the allow-list one
    exact segment at a time, and a key that is no policy segment is never taken for an allowed path.
    """
    fields: list[dict[str, Any]] = []
    branches = allow.branches if allow is not None else frozenset()
    budget = JudgingBudget()

    def walk(node: Mapping[str, Any], prefix: str, shown: str) -> None:
        for raw_name, value in sorted(node.items(), key=lambda kv: str(kv[0])):
            name = str(raw_name)
            if _unread_name(name, budget):
                excluded = RemovalReason.EXCLUDED_CONTENT.value
                fields.append({"path": f"{shown}.?", "size": size_of(value), "disposition": excluded})
                continue
            path = prefix + name if _SEGMENT.match(name) else None
            evidence = f"{shown}.{safe_name(name, allow.vocabulary if allow is not None else None)}"
            if allow is None:
                disposition = "unknown_kind"
            elif path is not None and path in branches and isinstance(value, Mapping):
                walk(value, path + ".", evidence)
                continue
            elif path is not None and path in allow.fields and not isinstance(value, Mapping | list):
                disposition = "allowed"
            else:
                disposition = allow.removal_reason(prefix + _folded(name), name, value, budget).value
            fields.append({"path": evidence, "size": size_of(value), "disposition": disposition})

    walk(document, "", "payload")
    if len(fields) > MAX_LISTED_REMOVALS:  # excluded content first, as for a kept event (:func:`_listed`)
        fields.sort(key=lambda entry: entry["disposition"] != RemovalReason.EXCLUDED_CONTENT.value)
    summed = _summed_beyond(fields, lambda entry: (entry["disposition"], entry["size"]))
    return fields[:MAX_LISTED_REMOVALS] + [
        {"path": REST_PATH, "size": size, "disposition": disposition} for disposition, size in summed
    ]
