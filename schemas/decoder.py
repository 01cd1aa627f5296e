"""The collection contract compiled to msgspec: the same rules as :mod:`schemas.events`, checked at C speed.

The pydantic models stay the one source of the contract (the JSON Schema documents are generated from them, and
they explain every refusal). This module compiles each of them, once, into a ``msgspec.Struct`` with the same
fields, types, bounds, patterns, defaults and unknown-key policy; a check the compiler does not know how to
carry over (a new validator, a type it has no rule for) fails the compilation instead of being dropped.

The compiled contract may refuse *more* than the pydantic one, never less: ingest reads every event with it
first and falls back to pydantic for whatever it refuses, so pydantic has the last word on a refusal and names
its reason. ``tests/unit/schemas/test_decoder.py`` checks both directions over valid events, the hostile
corpus and generated mutations of every field: whatever is accepted here is accepted by pydantic with the same
values. Where the two engines differ, this side is made narrower:

- patterns end in ``\\Z``: Python's ``$`` also matches before a final newline, the Rust engine's does not;
- strict types throughout: no ``bool`` for ``int``, no ``float`` for ``int``, no number for a string;
- a time is read only in the RFC 3339 spellings both read alike (at most six fractional digits);
- a UUID only in its canonical spelling, kept as that text.

An ``AfterValidator`` of the contract is carried over as a check: the compiled struct calls the very same
function on the parsed value, which must come back unchanged (a validator that rewrites values has no place in
a contract read twice).
"""

from __future__ import annotations

import enum
import re
import types
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache, partial
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
import msgspec
from pydantic import AwareDatetime, BaseModel, StringConstraints
from pydantic.fields import FieldInfo
from pydantic.functional_validators import AfterValidator

from schemas.events import PAYLOAD_MODELS, KeptCanonical, KeptText, collection_model
from schemas.memo import REMEMBERED_CHARS

Check = Callable[[Any], Any]


class ContractCompileError(TypeError):
    """The pydantic contract holds something the compiler has no rule for: compile nothing rather than less."""


@dataclass(frozen=True, slots=True)
class _Compiled:
    type: Any
    checks: tuple[Check, ...] = ()
    parse: Callable[[Any], Any] | None = None
    """Turns the value the struct read into the field's value (a time read as text), before the checks."""
    verdict: Callable[[str], object] | None = None
    """A text's bounds, pattern and checks as one memoized call (:func:`_memoized_verdict`), raising where the
    text breaks one; it replaces the struct's own bounds and ``checks``."""


_HOURS, _MINUTES = "([01][0-9]|2[0-3])", "[0-5][0-9]"
_MOMENT = (
    rf"^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[T ]{_HOURS}:{_MINUTES}:{_MINUTES}(\.[0-9]{{1,6}})?"
    rf"(Z|[+-]{_HOURS}:{_MINUTES})\Z"
)
"""The RFC 3339 spellings of a time read here (by ``datetime.fromisoformat``, in C; it would take an offset of
+09:60, so the pattern bounds every part); every other spelling is left to pydantic. Beyond six fractional
digits engines disagree (pydantic cuts …00.9999999Z to 00.999999, msgspec rounds it to 01.000000), so such a
time is always pydantic's."""


_CANONICAL_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z"
"""A UUID read here is kept as its text, which must then be the canonical form (what ``str(UUID(...))`` gives);
other spellings pydantic takes (upper case, braces, ``urn:uuid:``, no hyphens) are left to it."""


def _pattern(pattern: str) -> str:
    # pydantic matches with Rust's regex, where "$" is the end of the text; Python's also matches before a final
    # "\n". "\Z" is the end of the text in Python.
    return re.sub(r"(?<!\\)\$$", r"\\Z", pattern)


_BOUNDS: dict[type, str] = {
    annotated_types.MinLen: "min_length",
    annotated_types.MaxLen: "max_length",
    annotated_types.Ge: "ge",
    annotated_types.Le: "le",
    annotated_types.Gt: "gt",
    annotated_types.Lt: "lt",
}
"""annotated_types' bounds, each named alike as its attribute and as msgspec's ``Meta`` argument."""


def _constraints(metadata: list[Any]) -> tuple[dict[str, Any], tuple[Check, ...]]:
    meta: dict[str, Any] = {}
    checks: list[Check] = []
    for item in metadata:
        if isinstance(item, StringConstraints):
            if item.strip_whitespace or item.to_upper or item.to_lower:
                raise ContractCompileError("string transformations have no compiled form")
            if item.min_length is not None:
                meta["min_length"] = item.min_length
            if item.max_length is not None:
                meta["max_length"] = item.max_length
            if item.pattern is not None:
                meta["pattern"] = _pattern(str(item.pattern))
        elif (bound := _BOUNDS.get(type(item))) is not None:
            meta[bound] = getattr(item, bound)
        elif isinstance(item, AfterValidator):
            checks.append(item.func)  # type: ignore[arg-type]
        elif isinstance(item, FieldInfo):
            nested, nested_checks = _constraints(list(item.metadata))
            meta.update(nested)
            checks.extend(nested_checks)
        elif isinstance(item, KeptText | KeptCanonical):
            continue  # a marker for minimization, not a parse-time rule
        else:
            raise ContractCompileError(f"no compiled form for the constraint {item!r}")
    return meta, tuple(checks)


def _compile(annotation: Any, metadata: list[Any]) -> _Compiled:
    """The msgspec type of a pydantic annotation with its constraints, and the checks to run on its value."""
    if get_origin(annotation) is Annotated:
        inner, *extra = get_args(annotation)
        return _compile(inner, [*extra, *metadata])
    meta, checks = _constraints(metadata)
    if get_origin(annotation) in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        optional = len(members) < len(get_args(annotation))
        if meta or checks:
            raise ContractCompileError("constraints on a union have no compiled form")
        if len(members) != 1:
            raise ContractCompileError(f"no compiled form for the union {annotation!r}")
        member = _compile(members[0], [])
        compiled_type = Union[member.type, None] if optional else member.type  # noqa: UP007
        return _Compiled(compiled_type, member.checks, member.parse, member.verdict)
    if get_origin(annotation) is Literal:
        values = tuple(arg.value if isinstance(arg, enum.Enum) else arg for arg in get_args(annotation))
        _plain(meta, annotation)
        return _Compiled(Literal[values], checks)
    if annotation is AwareDatetime:
        _plain(meta, annotation)
        return _Compiled(Annotated[str, msgspec.Meta(pattern=_MOMENT)], checks, datetime.fromisoformat)
    if annotation is str and checks:
        return _Compiled(str, verdict=_memoized_verdict(meta, checks))
    if annotation in (str, int):
        return _Compiled(Annotated[annotation, msgspec.Meta(**meta)] if meta else annotation, checks)
    if annotation is uuid.UUID:
        _plain(meta, annotation)
        return _Compiled(Annotated[str, msgspec.Meta(pattern=_CANONICAL_UUID)], checks)
    if annotation is bool or (isinstance(annotation, type) and issubclass(annotation, enum.StrEnum)):
        _plain(meta, annotation)
        return _Compiled(annotation, checks)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        _plain(meta, annotation)
        return _Compiled(compiled_struct(annotation), checks)
    raise ContractCompileError(f"no compiled form for the type {annotation!r}")


VERDICTS_REMEMBERED = 4096
"""Texts of one field whose verdict is remembered (a field bounded to at most :data:`REMEMBERED_CHARS`)."""


def _memoized_verdict(meta: Mapping[str, Any], checks: tuple[Check, ...]) -> Callable[[str], object]:
    """The bounds, pattern and checks of a text field as one call, remembered for the most recent texts that
    passed (a refusal raises and is not remembered).

    For the identifiers the contract judges by reading them (a tenant, a service, a login, a terminal, a cookie:
    :func:`schemas.encoded_text.not_encoded_text` and others): the same few come again and again — every event
    names its tenant and service — and each verdict is a pure function of the text. One cache lookup replaces a
    pattern search and two or three checks (~0.2 us each) a field, per event. Bounds and pattern are msgspec's
    ``Meta`` rules, read as msgspec reads them (length in code points, ``re.search``).
    """
    unknown = set(meta) - {"min_length", "max_length", "pattern"}
    if unknown:
        raise ContractCompileError(f"no compiled form for {sorted(unknown)} on a text")
    low, high = meta.get("min_length", 0), meta.get("max_length")
    pattern = re.compile(meta["pattern"]) if "pattern" in meta else None

    def verdict(value: str) -> bool:
        if len(value) < low or (high is not None and len(value) > high):
            raise ValueError("a text outside its length bounds")
        if pattern is not None and pattern.search(value) is None:
            raise ValueError("a text that does not match its pattern")
        for check in checks:
            if check(value) is not value:
                raise ValueError("a contract check rewrote the value")
        return True

    # Only what passed is remembered, so no text beyond the field's bound; a field without a short bound would
    # remember texts of any length (schemas.memo), so it is judged every time.
    return lru_cache(maxsize=VERDICTS_REMEMBERED)(verdict) if high is not None and high <= REMEMBERED_CHARS else verdict


def _plain(meta: Mapping[str, Any], annotation: Any) -> None:
    if meta:
        raise ContractCompileError(f"no compiled form for {sorted(meta)} on {annotation!r}")


_FieldChecks = tuple[str, Callable[[Any], Any] | None, tuple[Check, ...], Callable[[str], object] | None]


def _post_init(fields: tuple[_FieldChecks, ...]) -> Callable[[Any], None]:
    """The struct's ``__post_init__``: parse and check each field that needs it, written out field by field.

    Generated as source, as dataclasses and msgspec generate theirs: it runs once per struct per event, and a
    loop over the fields with ``getattr``/``setattr`` cost twice as much. The field names are identifiers
    (``str.isidentifier``, no dunder); the functions are referenced by name, never inlined as text.
    """
    namespace: dict[str, Any] = {}
    lines = ["def post_init(self):"]
    for number, (name, parse, checks, verdict) in enumerate(fields):
        if not name.isidentifier() or name.startswith("__"):
            raise ContractCompileError(f"{name!r} cannot be a generated attribute name")
        lines += [f"    value = self.{name}", "    if value is not None:"]
        if verdict is not None:
            namespace[f"verdict_{number}"] = verdict
            lines.append(f"        verdict_{number}(value)")
        if parse is not None:
            namespace[f"parse_{number}"] = parse
            lines += [f"        value = parse_{number}(value)", f"        self.{name} = value"]
        for index, check in enumerate(checks):
            namespace[f"check_{number}_{index}"] = check
            lines += [
                f"        if check_{number}_{index}(value) is not value:",
                f"            raise ValueError('{name}: a contract check rewrote the value')",
            ]
    if len(lines) == 1:
        lines.append("    pass")
    exec("\n".join(lines), namespace)  # noqa: S102 - source built above from identifiers only
    post_init: Callable[[Any], None] = namespace["post_init"]
    return post_init


def _field_checks(name: str, compiled: _Compiled) -> list[_FieldChecks]:
    needed = compiled.parse is not None or compiled.checks or compiled.verdict is not None
    return [(name, compiled.parse, compiled.checks, compiled.verdict)] if needed else []


@cache
def compiled_struct(model: type[BaseModel], tag: str | None = None) -> type[msgspec.Struct]:
    """``model`` as a msgspec Struct; with ``tag``, a member of a union told apart by ``record_type``."""
    if getattr(model, "__pydantic_root_model__", False):
        raise ContractCompileError(f"{model.__name__} is a root model: compile it with compiled_type")
    fields: list[tuple[Any, ...]] = []
    checks: list[_FieldChecks] = []
    for name, info in model.model_fields.items():
        if info.alias is not None and info.alias != name:
            raise ContractCompileError(f"{model.__name__}.{name}: aliases have no compiled form")
        if tag is not None and name == _TAG_FIELD:
            continue
        compiled = _compile(info.annotation, list(info.metadata))
        checks.extend(_field_checks(name, compiled))
        if info.is_required():
            fields.append((name, compiled.type))
        elif info.default is None:
            fields.append((name, compiled.type, None))
        else:
            raise ContractCompileError(f"{model.__name__}.{name}: only None defaults have a compiled form")
    extra = model.model_config.get("extra")
    if extra not in ("allow", "forbid"):
        raise ContractCompileError(f"{model.__name__}: unknown keys must be allowed or forbidden, not {extra!r}")
    namespace: dict[str, Any] = {MODEL_ATTRIBUTE: model}
    if checks:
        namespace["__post_init__"] = _post_init(tuple(checks))
    return msgspec.defstruct(
        model.__name__,
        fields,
        namespace=namespace,
        forbid_unknown_fields=extra == "forbid",
        tag_field=_TAG_FIELD if tag is not None else None,
        tag=tag,
    )


_TAG_FIELD = "record_type"

MODEL_ATTRIBUTE = "__contract_model__"
"""A compiled struct's class attribute naming the pydantic model it was compiled from: the payload struct of a
decoded event says which record model the payload is valid under, without looking it up again."""


def compiled_type(model: type[BaseModel]) -> Any:
    """A payload model as a msgspec type: a Struct, or for a root model of record types their tagged union."""
    if not getattr(model, "__pydantic_root_model__", False):
        return compiled_struct(model)
    root = model.model_fields["root"]
    union, discriminator = root.annotation, root.discriminator
    if get_origin(union) is Annotated:
        union, *metadata = get_args(union)
        discriminator = next((m.discriminator for m in metadata if isinstance(m, FieldInfo)), discriminator)
    if discriminator != _TAG_FIELD or get_origin(union) not in (Union, types.UnionType):
        raise ContractCompileError(f"{model.__name__}: only unions told apart by {_TAG_FIELD} have a compiled form")
    members = []
    for member in get_args(union):
        literal = member.model_fields[_TAG_FIELD].annotation
        (tag,) = get_args(literal)
        members.append(compiled_struct(member, str(tag)))
    return Union[tuple(members)]  # noqa: UP007 - built at runtime


@cache
def _decoders() -> dict[tuple[str, int], Callable[[Any], Any]]:
    decoders: dict[tuple[str, int], Callable[[Any], Any]] = {}
    for kind, version in PAYLOAD_MODELS:
        envelope = collection_model(kind, version)
        fields: list[tuple[str, Any]] = []
        checks: list[_FieldChecks] = []
        for name, info in envelope.model_fields.items():
            if name == "payload":
                fields.append((name, compiled_type(PAYLOAD_MODELS[(kind, version)])))
                continue
            compiled = _compile(info.annotation, list(info.metadata))
            fields.append((name, compiled.type))
            checks.extend(_field_checks(name, compiled))
        struct = msgspec.defstruct(
            envelope.__name__,
            fields,
            namespace={"__post_init__": _post_init(tuple(checks))} if checks else None,
            forbid_unknown_fields=True,
        )
        decoders[(kind.value, version)] = _converter(struct)
    return decoders


def _converter(struct: type[msgspec.Struct]) -> Callable[[Any], Any]:
    return partial(msgspec.convert, type=struct, strict=True)  # a partial calls on in C: no frame of its own


def decode(document: Mapping[str, Any]) -> Any | None:
    """The event as its compiled contract reads it, or None where that contract refuses it (or has none).

    ``document`` is the parsed JSON object. None says nothing about the event's validity: pydantic decides.
    """
    kind, version = document.get("kind"), document.get("kind_version")
    if not isinstance(kind, str) or type(version) is not int:
        return None
    decoder = _decoders().get((kind, version))
    if decoder is None:
        return None
    try:
        return decoder(document)
    except Exception:  # noqa: BLE001 - refused, or a fault of the compiled path itself: either way pydantic decides
        return None


def warm() -> None:
    """Compile every contract now (start-up), not on the first event."""
    _decoders()


__all__ = ["MODEL_ATTRIBUTE", "ContractCompileError", "compiled_struct", "compiled_type", "decode", "warm"]
