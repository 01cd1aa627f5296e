"""Turn validation errors into reasons that name the schema path and rule, never the input value.

A key name in the input is shown only when it is made of known vocabulary (:func:`safe_name`): the words of the
contract's field names and constants, and of the policy's markers and allow-listed paths. Anything else in a key —
a sentence split over keys, hex, base64, a raw subject id — could be content or personal data, and is shown as
``?``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from enum import Enum
from functools import cache
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, ValidationError

from schemas.events import PAYLOAD_MODELS, CollectionEnvelope
from schemas.memo import remembered

_SAFE_PART = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
KEY_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+|[^\W\d_a-zA-Z]+")
"""A word of a key name: split on ``_`` and on case changes (``emailBody``, ``EMAIL_BODY``, ``HTMLBody``); a run of
letters of another script (``件名``) is a word too. One splitter for shown names and for the policy's markers."""
_MAX_DIGITS = 2
"""Longest digit run a shown name may have (``line_1``, ``address2``), at its end, after a known word."""
_MAX_WORDS = 4
"""Most words a shown name may have: a choice among known words carries a few bits a word, so a name says little."""
# Context keys that carry schema constants (limits, expected literals), not input.
_SAFE_CONTEXT = ("expected", "min_length", "max_length", "ge", "gt", "le", "lt", "pattern")
_MAX_ERRORS = 5

Vocabulary = frozenset[str]
"""Lower-case words a shown key name may be made of."""


def words_of(names: Iterable[str]) -> Vocabulary:
    """The lower-case words of ``names`` (``bank_account.bank_code`` gives bank, account, code), digits left out."""
    return frozenset(w.lower() for name in names for w in KEY_WORDS.findall(name) if not w.isdigit())


def _constants(annotation: Any) -> list[str]:
    """String literals and enum values in an annotation: contract constants (``email_transmission``, ``pc``)."""
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [str(member.value) for member in annotation]
    if get_origin(annotation) is Literal:
        return [str(arg.value if isinstance(arg, Enum) else arg) for arg in get_args(annotation)]
    return []


def _names_of(models: Iterable[type[BaseModel]]) -> list[str]:
    """Every field name (and alias) and string constant of ``models`` and the models nested in them."""
    names: list[str] = []
    seen: set[type[BaseModel]] = set()
    pending: list[Any] = list(models)
    while pending:
        annotation = pending.pop()
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation in seen:
                continue
            seen.add(annotation)
            for name, info in annotation.model_fields.items():
                names.extend(a for a in (name, info.alias) if isinstance(a, str))
                pending.append(info.annotation)
            continue
        names.extend(_constants(annotation))
        if get_origin(annotation) is Annotated:
            pending.append(get_args(annotation)[0])
        elif get_origin(annotation) is not Literal:
            pending.extend(arg for arg in get_args(annotation) if not isinstance(arg, str | int | float))
    return names


@cache
def vocabulary_of(*models: type[BaseModel]) -> Vocabulary:
    """The words of the field names and string constants of ``models`` (nested models included)."""
    return words_of(_names_of(models))


@cache
def contract_vocabulary() -> Vocabulary:
    """The words of the collection contract: the envelope, its subject and every payload and record model."""
    return vocabulary_of(CollectionEnvelope, *PAYLOAD_MODELS.values())


@cache
def extended_vocabulary(names: tuple[str, ...]) -> Vocabulary:
    """The contract vocabulary and the words of ``names`` (a policy's markers and allow-listed paths)."""
    return contract_vocabulary() | words_of(names)


def _known(word: str, vocabulary: Vocabulary) -> bool:
    folded = word.lower()
    # A plural or singular of a known word is known too (``attachment`` of ``has_attachments``).
    return folded in vocabulary or folded + "s" in vocabulary or (folded.endswith("s") and folded[:-1] in vocabulary)


@remembered(maxsize=8192)
def _shown(name: str, vocabulary: Vocabulary) -> bool:
    if not _SAFE_PART.fullmatch(name):
        return False
    words = KEY_WORDS.findall(name)
    if not words or len(words) > _MAX_WORDS:
        return False
    *named, last = words
    if last.isdigit():
        # One short number at the end, after a known word (``line_1``, ``address2``); a number anywhere else
        # would let a name spell anything a few digits at a time (``s00s51s85…``).
        if not named or len(last) > _MAX_DIGITS:
            return False
    else:
        named.append(last)
    return all(not word.isdigit() and _known(word, vocabulary) for word in named)


def safe_name(name: int | str, vocabulary: Vocabulary | None = None) -> str:
    """A key name as it may be shown: a list index, or a name made of ``vocabulary``'s words; anything else '?'.

    A key name in the input could itself carry content or personal data (an e-mail subject spelled in key names,
    hex or base64 split over keys, a raw subject id used as a key). ``vocabulary`` defaults to the contract's.
    """
    if isinstance(name, int):
        return str(name)
    return name if _shown(name, contract_vocabulary() if vocabulary is None else vocabulary) else "?"


def _path(loc: tuple[int | str, ...], vocabulary: Vocabulary | None) -> str:
    return ".".join(safe_name(p, vocabulary) for p in loc) or "(root)"


def describe_validation_error(
    exc: ValidationError | Sequence[Any], prefix: str = "", vocabulary: Vocabulary | None = None
) -> str:
    """``subject.id: string_too_short (min_length=1); ...`` for the first few errors (of an error or its list).

    A location's key names are shown when made of ``vocabulary``'s words (:func:`safe_name`; by default the
    collection contract's): pass :func:`vocabulary_of` the models validated against when they are others.
    """
    described: list[str] = []
    errors = exc.errors(include_url=False, include_input=False) if isinstance(exc, ValidationError) else exc
    for err in errors[:_MAX_ERRORS]:
        context = err.get("ctx") or {}
        details = ", ".join(f"{k}={context[k]}" for k in _SAFE_CONTEXT if k in context)
        path = _path(tuple(err["loc"]), vocabulary)
        described.append(f"{prefix}{path}: {err['type']}" + (f" ({details})" if details else ""))
    if len(errors) > _MAX_ERRORS:
        described.append(f"and {len(errors) - _MAX_ERRORS} more")
    return "; ".join(described)
