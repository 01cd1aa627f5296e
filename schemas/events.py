"""Collection event contract, version 1: an envelope plus a payload typed per kind.

Attendance microservices emit one JSON object per event to ``collection.<kind>.v1``.
The contract is read strictly, with JSON's own types (see :func:`collection_adapter`): an integer is an
integer, never a numeric string; a time is an ISO 8601 string with an offset. The exported JSON Schema is
generated from the same models, so the parser and the schema refuse the same events.

Payload models accept unknown keys on purpose: minimization, not validation, decides what is kept, so that a
field the policy does not allow is removed *with evidence* instead of failing the whole event. Where fields
differ by record type (allied data), each record type has its own model, chosen by ``record_type``: a field
exists only where its record type defines it (a ``title`` only on a scheduler entry).

Free-text fields carry a :class:`KeptText` bound instead of a parse-time maximum: a longer value is not what
the field is for (a 40 KB "application name"), so minimization removes it as content rather than refusing
the whole event.
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import string
import types
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache, lru_cache
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    RootModel,
    StringConstraints,
    Tag,
    TypeAdapter,
    create_model,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError
from stdnum.jp import in_ as my_number

from schemas.encoded_text import common_character, iso2022_escape, not_encoded_text

SPEC = "rakuro.collection/v1"

Identifier = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=128, pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*\\[A-Za-z0-9])?[A-Za-z0-9._:@+-]*$"
    ),
    AfterValidator(not_encoded_text),
    Field(
        description="An opaque token of letters, digits and '.', '_', ':', '@', '+', '-' (a login may be a tagged "
        "mail address: sato+kintai@example.jp), after at most one domain and a backslash (a Windows logon name: "
        "CORP\\sato); one that decodes to text (base64, base32, base45, base85, hex, percent-escapes of 15 bytes or "
        "more; punycode, but for an e-mail address's domain, 63 characters a label) is refused: a "
        "message in disguise, not an identifier.",
        json_schema_extra={"x-lineage-not-encoded-text": True},
    ),
]
"""A terminal, a cookie, a login (a tenant and a service are :data:`Reference`): the contract refuses one that is
encoded text (:mod:`schemas.encoded_text`), since an identifier is kept and stored as it is. A "+" is allowed
(eleventh red-team pass: a login id "suzuki+kintai@example.jp" refused the whole user_profile event), and so is one
backslash after a domain ("CORP\\sato", a Windows logon name, refused the event as well): one only, so that no
escaped text (``\\x53\\x75…``) fits. A blank or a letter of another script is still refused: a login is a token,
and a token that may hold words may hold a message's subject."""

_WHOLE_PHONE = re.compile(r"(?:\+81[-._:]?|0)[0-9]{1,4}[-._:][1-9][0-9]{0,3}[-._:][0-9]{3,4}")
"""Not 81 without "+" (an IPv4 address "81.183.134.186" is none), nor a local exchange beginning with 0."""
_WHOLE_MOBILE = re.compile(r"(?:\+81|0)[5789]0[0-9]{8}")  # not 81 without "+": cloud account ids start 8150
_WHOLE_MY_NUMBER = re.compile(r"([0-9]{4})[-._:]([0-9]{4})[-._:]([0-9]{4})")


def not_a_personal_number(value: str) -> str:
    if (refusal := _personal_number(value)) is not None:
        raise ValueError(refusal)
    return value


@lru_cache(maxsize=4096)
def _personal_number(value: str) -> str | None:
    """Refuse a reference that *is* a Japanese telephone number (with separators, or a mobile number in one run)
    or a My Number written 4-4-4 (eighth red-team pass: both were stored as a tenant or a service).

    Only the whole value: a refused tenant id dead-letters every event of that tenant, and ids that merely hold
    such digits are common (tenth pass: "tenant-<uuid>" 0.05 %, "ip-81-…" hosts, corporate numbers 1-4-4-4, cloud
    account ids starting 8150 were refused). Twelve digits in one run are left alone too: a cloud account's shape,
    and one in ten of them passes the My Number check digit.
    """
    # References come again and again (a tenant, a service): each is judged once while recent.
    if _WHOLE_PHONE.fullmatch(value):
        digits = "".join(char for char in value if char.isdigit())
        national = digits[2:] if value.lstrip("+").startswith("81") else digits
        if len(national.removeprefix("0")) in (9, 10):
            return "a telephone number is no reference"
    if _WHOLE_MOBILE.fullmatch(value):
        return "a telephone number is no reference"
    grouped = _WHOLE_MY_NUMBER.fullmatch(value)
    if grouped is not None and my_number.is_valid("".join(grouped.groups())):
        return "a My Number is no reference"
    return None


Reference = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"),
    AfterValidator(not_encoded_text),
    AfterValidator(not_a_personal_number),
    Field(
        description="An id or reference (a tenant, a recipient, a consent record, a service): letters, digits, '.', "
        "'_', ':' and '-', at most 128 characters, no '@' (a company, a record or a service, never a mailbox); one "
        "that decodes to text (base64, base32, base45, base85, hex, percent-escapes of 15 bytes or more; punycode) is "
        "refused, and so is one that holds a telephone number or a My Number written 4-4-4.",
        json_schema_extra={"x-lineage-not-encoded-text": True},
    ),
]
"""A tenant's, a recipient's, a consent record's or an acting service's id: an :data:`Identifier`
without '@', since these name companies, records and services, never a person, and an e-mail address is the one
shape of a person's id that the identifier charset admits (collection events keep it for login ids). Collection
envelopes name their tenant and service with it too (sixth red-team pass: a mailbox was stored as either)."""

ShortText = Annotated[str, StringConstraints(min_length=1, max_length=256)]


def _unprintable(char: str) -> bool:
    """A control, format, surrogate, private-use or unassigned character, or a line or paragraph separator."""
    category = unicodedata.category(char)
    return category[0] == "C" or category in ("Zl", "Zp")


def has_unprintable(value: str) -> bool:
    """Does ``value`` hold a character :func:`_unprintable` names? isprintable() is the fast verdict (C speed); it
    is False for other blanks than ' ' too (U+3000 in a Japanese name), so only then is each character looked at."""
    return not value.isprintable() and any(_unprintable(char) for char in value)


def _canonical_subject_id(value: str) -> str:
    """One spelling per person: the id is pseudonymized and partitions the person's events as it is, so a
    trailing blank, a decomposed kana (NFD) or an invisible character made another pseudonym, on another
    partition, whose state never saw the person's suspension (fifth red-team pass). Refused, not rewritten:
    the sender learns its ids are inconsistent. Letter case is left to the tenant (its ids may tell it)."""
    if (
        value != value.strip()
        or not unicodedata.is_normalized("NFC", value)
        or has_unprintable(value)  # a full-width space inside a name is kept
    ):
        raise PydanticCustomError(
            "subject_id_not_canonical", "a subject id is NFC, without edge blanks, control or format characters"
        )
    return value


SubjectId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=256),
    AfterValidator(_canonical_subject_id),
    Field(
        description="The tenant's own identifier of the person; never stored raw. In one canonical form: Unicode "
        "NFC, no blank at either end, no control or format character (refused otherwise).",
        json_schema_extra={"x-lineage-canonical-id": True},
    ),
]


@dataclass(frozen=True, slots=True)
class KeptText:
    """Marks a free-text field: minimization runs the content detectors on it, with this length bound."""

    max_chars: int
    title: bool = False
    """A calendar entry's title, which may open with one reply or forward prefix ("Re: 定例会議": an entry made
    from a mail). In every other field one is a mail's subject (twelfth red-team pass: "Fwd: …" as a name, "Outlook
    - Re: …" as an application, "send_mail(Re: …)" as an operation were kept)."""


_M = TypeVar("_M")


def kept_text_bound(field: FieldInfo) -> KeptText | None:
    """The :class:`KeptText` marker of a model field (pydantic moves a bare ``Annotated``'s into ``metadata``)."""
    return _marker(field, KeptText)


@dataclass(frozen=True, slots=True)
class KeptCanonical:
    """Marks a field whose value minimization keeps in its canonical spelling, never as it was sent.

    A value that is parsed (a time, an address) can be spelled in more ways than it has values: 500,000
    fractional digits of a second, cut to six by the parser, spelled a whole message in a time that was then
    kept as sent (eighth red-team pass). ``canonical`` maps a valid spelling to the one kept.
    """

    canonical: Callable[[str], str]


def kept_canonical(field: FieldInfo) -> KeptCanonical | None:
    """The :class:`KeptCanonical` marker of a model field, or None."""
    return _marker(field, KeptCanonical)


def _marker(field: FieldInfo, marker: type[_M]) -> _M | None:
    return next((m for m in field.metadata if isinstance(m, marker)), None) or _marker_in(field.annotation, marker)


def _marker_in(annotation: Any, marker: type[_M]) -> _M | None:
    """The ``marker`` inside an annotation (through ``X | None``), or None."""
    if get_origin(annotation) is Annotated:
        return next((m for m in annotation.__metadata__ if isinstance(m, marker)), None)
    if get_origin(annotation) in (Union, types.UnionType):
        return next((b for arg in get_args(annotation) if (b := _marker_in(arg, marker)) is not None), None)
    return None


TEXT_BOUND = 256
Text = Annotated[
    str,
    StringConstraints(min_length=1),
    KeptText(TEXT_BOUND),
    Field(
        description=f"Free text; a value longer than {TEXT_BOUND} characters is removed by minimization as content.",
        json_schema_extra={"x-lineage-kept-max-length": TEXT_BOUND},
    ),
]
"""The free text fields carry: names, departments, application and screen names."""
Title = Annotated[
    str,
    StringConstraints(min_length=1),
    KeptText(TEXT_BOUND, title=True),
    Field(
        description=f"A title; a value longer than {TEXT_BOUND} characters is removed by minimization as content.",
        json_schema_extra={"x-lineage-kept-max-length": TEXT_BOUND},
    ),
]
"""A calendar entry's title: free text that may open with one reply prefix (:attr:`KeptText.title`)."""

_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


def representable(value: datetime) -> datetime:
    """``value`` unchanged, or ValueError when its instant lies outside the years 1970-9999 in UTC."""
    # Any offset may be written, but the instant must exist in UTC between 1970 and 9999: year 9999 at -05:00 is
    # year 10000 in UTC, which no store, no report and no downstream consumer can represent.
    if 1970 < value.year < 9999:  # an offset (less than a day) cannot move it out: the common case, checked fast
        return value
    try:
        instant = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("instant outside the years 1970-9999 in UTC") from None
    if instant < _EARLIEST:
        raise ValueError("instant outside the years 1970-9999 in UTC")
    return value


_SHORT_MOMENT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?([Zz]|[+-][0-9]{2}:?[0-9]{2})"
)
"""A time spelled with at most the six fractional digits the parser keeps: nothing in it beyond the value."""


_SHORT_ENOUGH = 32
"""Any valid time of at most 32 characters (2026-11-27T09:00:03.123456+09:00) holds at most a digit or two beyond
the microseconds: kept as sent without reading it."""


@cache
def _moment_adapter() -> TypeAdapter[datetime]:
    return TypeAdapter(AwareDatetime)


def moment_as_kept(value: str) -> str:
    """A valid time as minimization keeps it: as sent when its spelling holds nothing but the instant (at most
    six fractional digits), else the instant the parser read, re-serialized (ISO 8601, its offset kept)."""
    if not isinstance(value, str) or len(value) <= _SHORT_ENOUGH or _SHORT_MOMENT.fullmatch(value):
        return value
    parsed: datetime = _moment_adapter().validate_json(json.dumps(value), strict=True)
    return parsed.isoformat()


Moment = Annotated[AwareDatetime, AfterValidator(representable), KeptCanonical(moment_as_kept)]
"""A point in time with its UTC offset, representable in UTC (1970-9999); kept canonical (:func:`moment_as_kept`)."""


def _printable_utf8(data: bytes) -> bool:
    """Printable UTF-8, perhaps with its last character cut short (three bytes of one at most)."""
    for cut in range(4):
        try:
            return data[: len(data) - cut].decode("utf-8").isprintable()
        except UnicodeDecodeError:
            continue
    return False


_PRINTABLE_RUN = re.compile(rb"[\x20-\x7e]{12}")
_WORD_BYTES = frozenset(string.ascii_letters.encode() + string.digits.encode() + b" ")
_TEXT_ASCII = frozenset(string.ascii_letters + string.digits + " .,:;!?'()%-")
_WINDOWS = ((0, 13, 3), (4, 12, 5), (6, 10, 5))
"""(first byte, letters, digits or blanks, characters beyond ASCII) an address's bytes are judged from: all 16, or
the 12 after a 4-byte prefix (2001:db8:), or the 10 after a /48, the bars set so that random bytes pass them:
1 address in 300,000 uniformly random ones, none of 300,000 behind a real prefix, a link-local one or an EUI-64
interface (measured)."""
_ADDRESS_CHARSETS = ("cp932", "euc_jp", "utf-16-be", "utf-16-le", "utf-8")


def _address_text(packed: bytes) -> bool:
    """Are an IPv6 address's 16 bytes text: printable UTF-8, twelve printable ASCII bytes in a row (the seventh and
    ninth red-team passes); ASCII in UTF-16; letters, digits and blanks but for three bytes (a control byte between
    them hid them), an ISO-2022-JP escape, or Japanese in Shift_JIS, EUC-JP, UTF-16 or UTF-8 — over each window of
    :data:`_WINDOWS` (fifteenth and sixteenth passes: 8 kanji in Shift_JIS, EUC-JP or UTF-16, 4 in ISO-2022-JP, 5
    behind a /48, were kept)?"""
    if _printable_utf8(packed) or _PRINTABLE_RUN.search(packed) or iso2022_escape(packed):
        return True
    if _utf16_ascii(packed):
        return True
    for start, letters, beyond in _WINDOWS:
        window = packed[start:]
        if sum(byte in _WORD_BYTES for byte in window) >= letters:
            return True
        for charset, cut in itertools.product(_ADDRESS_CHARSETS, (0, 1)):
            try:
                text = window[: len(window) - cut].decode(charset)
            except UnicodeDecodeError:
                continue
            # UTF-8 of random bytes is all but never valid: three characters are enough there.
            if _japanese_text(text, 3 if charset == "utf-8" else beyond):
                return True
    return False


def _japanese_text(text: str, beyond: int) -> bool:
    """Printable, ``beyond`` kana or common kanji or more, and nothing but them, Japanese punctuation and full-width
    letters and digits (JIS X 0208 rows 1 and 3), and ASCII letters, digits and punctuation."""
    if not text.isprintable() or sum(not char.isascii() for char in text) < beyond:
        return False
    return all(
        char in _TEXT_ASCII or common_character(char, japanese=True) or _punctuation_or_full_width(char)
        for char in text
    )


def _punctuation_or_full_width(char: str) -> bool:
    try:
        encoded = char.encode("euc_jp")
    except UnicodeEncodeError:
        return False
    return len(encoded) == 2 and encoded[0] in (0xA1, 0xA3)


def _utf16_ascii(packed: bytes) -> bool:
    """ASCII text in UTF-16: every 16-bit group below 0x100, six of its eight letters, digits or blanks."""
    groups = [packed[index : index + 2] for index in range(0, 16, 2)]
    for high, low in ((0, 1), (1, 0)):  # big-endian, little-endian
        if all(group[high] == 0 for group in groups) and sum(group[low] in _WORD_BYTES for group in groups) >= 6:
            return True
    return False


def _ip_address(value: str) -> str:
    # inet_pton is the C parser: the same verdict as ipaddress.ip_address, at a fraction of the cost.
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            packed = socket.inet_pton(family, value)
        except OSError:
            continue
        if len(packed) == 16 and _address_text(packed):
            # Sixteen bytes of text written as an address (5375:626a:… is "Subject: pay cut").
            raise ValueError("an IPv6 address whose bytes are text")
        return value
    raise ValueError("not an IPv4 or IPv6 address")


def ip_address_as_kept(value: str) -> str:
    """A valid IP address as minimization keeps it: an IPv6 one in its one canonical text (RFC 5952: lower case, no
    leading zeros, the longest run of zero groups compressed); an IPv4 one is read only in its canonical text."""
    if not isinstance(value, str) or ":" not in value:
        return value
    return socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, value))


IPAddress = Annotated[
    str, StringConstraints(max_length=45), AfterValidator(_ip_address), KeptCanonical(ip_address_as_kept)
]
"""An IP address; kept canonical (:func:`ip_address_as_kept`)."""


class CollectionKind(StrEnum):
    """Kinds of collection event; each maps to data categories through the policy file."""

    USER_PROFILE = "user_profile"
    TERMINAL = "terminal"
    ACCESS_LOG = "access_log"
    COOKIE = "cookie"
    ALLIED = "allied"
    TRANSMISSION = "transmission"


class SubjectType(StrEnum):
    """Data subjects the policy distinguishes (preamble; Art. 3.1 table)."""

    PERSON_IN_CHARGE = "person_in_charge"
    """A person in charge at a Registered User."""
    ANALYZED_ACCOUNT_HOLDER = "analyzed_account_holder"
    """The holder of an Account to be Analyzed."""


class Subject(BaseModel):
    """Whom the event is about. ``id`` is pseudonymized before anything is stored or forwarded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: SubjectType
    id: SubjectId


class CollectionEnvelope(BaseModel):
    """What every collection event carries around its payload."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    spec: Literal["rakuro.collection/v1"] = Field(description="Contract name and major version.")
    event_id: UUID = Field(description="Unique per event; the idempotency key of the lineage store.")
    kind: CollectionKind
    kind_version: int = Field(ge=1, description="Version of the payload contract of this kind.")
    occurred_at: Moment = Field(description="When the data was collected; selects the policy version.")
    tenant_id: Reference = Field(description="The Registered User (customer company) the data belongs to.")
    source_service: Reference = Field(description="The microservice that collected the data.")
    subject: Subject
    payload: dict[str, Any] = Field(description="Kind-specific fields; see the payload models.")


class _Payload(BaseModel):
    # Unknown keys are kept here only so that minimization can remove them with evidence.
    model_config = ConfigDict(extra="allow", frozen=True)


# An address's local part is free text too: 200 characters of base64 fit in it, so it passes the detectors.
Email = Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), KeptText(254)]


_EXTENSION = re.compile(r"\s*(?:ext\.?|x|内線)\s*", re.IGNORECASE)


def _telephone_digits(value: str) -> str:
    # E.164: a number has at most 15 digits; more is no number but digits chosen to spell something (ninth
    # red-team pass: 29 digits read as one number were "Pay cut Sato"). An extension is not part of the number.
    number = _EXTENSION.split(value, maxsplit=1)[0]
    if sum(char.isdigit() for char in number) > 15:
        raise ValueError("a telephone number has at most 15 digits")
    return value


def telephone_as_kept(value: str) -> str:
    """A telephone number as minimization keeps it: its ASCII digits, after a "+" if it had one, and its extension
    as ";ext=" and digits (RFC 3966). Its separators chose bits (ninth red-team pass: "0-0 0--0  (0)0 0-- 0((0))")."""
    if not isinstance(value, str):
        return value
    number, *extension = _EXTENSION.split(value, maxsplit=1)
    kept = "+" + _ascii_digits(number) if value.startswith("+") else _ascii_digits(number)
    return kept + ";ext=" + _ascii_digits(extension[0]) if extension else kept


def _ascii_digits(text: str) -> str:
    """The digits of ``text``, full-width ones as ASCII."""
    return "".join(str(unicodedata.digit(char)) for char in text if char.isdigit())


Phone = Annotated[
    str,
    StringConstraints(
        max_length=48,
        pattern=(
            r"^\+?[(\uff08]?[0-9\uff10-\uff19][0-9\uff10-\uff19 ()\uff08\uff09.\-\uff0d\u30fc\u2010]{3,30}"
            r"(?:\s*(?:[Ee][Xx][Tt]\.?|[Xx]|\u5185\u7dda)\s*[0-9\uff10-\uff19]{1,6})?$"
        ),
    ),
    AfterValidator(_telephone_digits),
    KeptCanonical(telephone_as_kept),
]
"""A telephone number as people type it: full-width digits and dashes, an area code in brackets first, dots, an
extension (eleventh red-team pass: each of these refused the whole event); kept as its digits."""
Count = Annotated[int, Field(ge=0, le=1_000_000)]


class Organization(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    name: Text
    division: Text | None = None


class BankAccount(BaseModel):
    """A Japanese bank account for payroll (Art. 2.1(1)(i) "bank account information")."""

    model_config = ConfigDict(extra="allow", frozen=True)

    bank_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]
    branch_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{3}$")]
    account_type: Literal["ordinary", "current", "savings"]
    account_number: Annotated[str, StringConstraints(pattern=r"^[0-9]{7}$")]


class UserProfilePayloadV1(_Payload):
    """Information of User and login ID (Art. 2.1(1)(i), Art. 3.1). A password value is never part of it."""

    name: Text
    department: Text | None = None
    email_address: Email | None = None
    telephone_number: Phone | None = None
    organization: Organization | None = None
    bank_account: BankAccount | None = None
    login_id: Identifier | None = None


class TerminalPayloadV1(_Payload):
    """Terminal information (Art. 2.1(1)(ii)): ID information that can identify the terminal."""

    terminal_id: Identifier
    terminal_type: Literal["pc", "mobile", "tablet"]


class AccessLogPayloadV1(_Payload):
    """Log Information (Art. 2.1(1)(ii)): IP address, request time, operation history, usage situation."""

    ip_address: IPAddress
    requested_at: Moment
    operation: Text = Field(description="The operation performed, e.g. clock_in, view_timesheet.")
    screen: Text | None = Field(default=None, description="Where in the Services it happened (usage situation).")


class CookiePayloadV1(_Payload):
    """Cookie (Art. 2.1(1)(iii)): identifies a browser, not a person."""

    cookie_id: Identifier
    first_seen_at: Moment | None = None


class AlliedRecordType(StrEnum):
    LOGIN_HISTORY = "login_history"
    EMAIL_TRANSMISSION = "email_transmission"
    SYSTEM_USAGE = "system_usage"
    SCHEDULER_ENTRY = "scheduler_entry"
    MESSAGE_ACTIVITY = "message_activity"
    FILE_SHARE = "file_share"


class _AlliedRecord(_Payload):
    occurred_at: Moment = Field(description="When it happened in the allied service.")
    application: Text | None = Field(default=None, description="The allied application (Outlook, Slack, calendar…).")


class LoginHistoryV1(_AlliedRecord):
    """Login history of computers."""

    record_type: Literal["login_history"]
    computer_name: Text | None = None
    logged_out_at: Moment | None = None


class EmailTransmissionV1(_AlliedRecord):
    """E-mail transmission history: how many recipients, how large, whether with attachments; never subject or text."""

    record_type: Literal["email_transmission"]
    recipient_count: Count | None = None
    has_attachments: bool | None = None
    size_bytes: Count | None = None


class SystemUsageV1(_AlliedRecord):
    """Other internal system usage history."""

    record_type: Literal["system_usage"]
    duration_s: Count | None = None


class SchedulerEntryV1(_AlliedRecord):
    """A scheduler entry: its title is collected (Art. 2.1(2) "include titles of scheduler")."""

    record_type: Literal["scheduler_entry"]
    title: Title | None = Field(default=None, description="Scheduler title: collected (Art. 2.1(2)).")
    ends_at: Moment | None = None


class MessageActivityV1(_AlliedRecord):
    """Chat or social-media activity: how many messages where; never their texts or subjects."""

    record_type: Literal["message_activity"]
    channel_type: Literal["chat", "social_media"] | None = None
    message_count: Count | None = None


class FileShareV1(_AlliedRecord):
    """A shared or attached file: its type and size; never its contents."""

    record_type: Literal["file_share"]
    file_type: Text | None = None
    size_bytes: Count | None = None


AlliedRecord = Annotated[
    LoginHistoryV1 | EmailTransmissionV1 | SystemUsageV1 | SchedulerEntryV1 | MessageActivityV1 | FileShareV1,
    Field(discriminator="record_type"),
]


class AlliedPayloadV1(RootModel[AlliedRecord]):
    """Allied Data (Art. 2.1(2)): usage history from allied services, never message subjects, texts or files.

    One model per ``record_type``: e-mail subjects and bodies, chat and social-media texts and attachment
    contents are part of none of them and are removed by minimization if sent.
    """

    model_config = ConfigDict(frozen=True)


class TransmissionRecordType(StrEnum):
    CLOCK_IN = "clock_in"
    CLOCK_OUT = "clock_out"
    ARRIVAL = "arrival"
    DEPARTURE = "departure"


class TransmissionPayloadV1(_Payload):
    """Transmission Data (Art. 2.1(2)): names, departments, telephone numbers, arrival and departure times."""

    record_type: TransmissionRecordType
    at: Moment
    personal_name: Text
    department: Text | None = None
    telephone_number: Phone | None = None


PAYLOAD_MODELS: dict[tuple[CollectionKind, int], type[BaseModel]] = {
    (CollectionKind.USER_PROFILE, 1): UserProfilePayloadV1,
    (CollectionKind.TERMINAL, 1): TerminalPayloadV1,
    (CollectionKind.ACCESS_LOG, 1): AccessLogPayloadV1,
    (CollectionKind.COOKIE, 1): CookiePayloadV1,
    (CollectionKind.ALLIED, 1): AlliedPayloadV1,
    (CollectionKind.TRANSMISSION, 1): TransmissionPayloadV1,
}


def payload_model(kind: CollectionKind, version: int) -> type[BaseModel] | None:
    """The payload contract for ``kind`` at ``version``, or None when unsupported."""
    return PAYLOAD_MODELS.get((kind, version))


def record_of(payload: BaseModel) -> BaseModel:
    """The payload's record model: the record-type model inside a per-record-type payload, else the payload."""
    # The class flag, not isinstance: a model class's isinstance goes through ABCMeta, per record.
    return payload.root if type(payload).__pydantic_root_model__ else payload  # type: ignore[attr-defined]


@cache
def _record_types(model: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """``record_type`` value -> record model, for a payload that is a union of record types."""
    union = get_args(model.model_fields["root"].annotation)[0]
    return {get_args(member.model_fields["record_type"].annotation)[0]: member for member in get_args(union)}


def record_model(payload_model: type[BaseModel], payload: Mapping[str, Any]) -> type[BaseModel]:
    """The model of a valid payload's record: its record type's model inside a union of them, else the model."""
    if not payload_model.__pydantic_root_model__:
        return payload_model
    return _record_types(payload_model)[payload["record_type"]]


@cache
def collection_model(kind: CollectionKind, version: int) -> type[CollectionEnvelope]:
    """The envelope with ``kind`` and ``kind_version`` fixed and ``payload`` typed by that kind's payload model.

    Ingest parses with it and the JSON Schema documents are generated from it: one contract, read once.
    """
    payload = PAYLOAD_MODELS[(kind, version)]
    # Literal built from values at runtime: a const in JSON Schema, an exact match in pydantic.
    kind_type: Any = Literal[kind]
    version_type: Any = Literal[version]
    return create_model(
        f"Collection{payload.__name__}",
        __base__=CollectionEnvelope,
        __doc__=(
            f"A collection event of kind {kind.value}, payload version {version}: the envelope around "
            f"{payload.__name__}. Payload keys outside the contract are accepted on purpose; minimization "
            "removes them with evidence."
        ),
        kind=(kind_type, Field(description="The collection kind; fixed by this document.")),
        kind_version=(version_type, Field(description="Version of the payload contract; fixed by this document.")),
        payload=(payload, Field(description="The kind-specific fields.")),
    )


def _contract_tag(document: Any) -> str | None:
    if isinstance(document, dict):
        kind, version = document.get("kind"), document.get("kind_version")
        if isinstance(kind, str) and type(version) is int:
            return f"{kind}.v{version}"
    return None


@cache
def collection_adapter() -> TypeAdapter[CollectionEnvelope]:
    """Every collection contract in one validator, chosen by ``kind`` and ``kind_version``.

    Validate with ``strict=True``: JSON types only, as the exported JSON Schema says. An event whose kind and
    version name no contract fails with ``union_tag_invalid`` or ``union_tag_not_found``.
    """
    variants = tuple(
        Annotated[collection_model(kind, version), Tag(f"{kind.value}.v{version}")] for kind, version in PAYLOAD_MODELS
    )
    union: Any = Annotated[Union[variants], Discriminator(_contract_tag)]  # noqa: UP007 - built at runtime
    return TypeAdapter(union)
