"""The tenant register: the tenants this deployment serves, so that a sender cannot make one up.

An event's ``tenant_id`` is the sender's to write. Without a register any id the contract accepts is a tenant,
and a sender who makes up thousands fills every bound kept per tenant — the monitor's alert groups first: 4,097
violations a window from made-up tenants pushed every real tenant's alerts into the overflow groups. With a
register (``LINEAGE_TENANT_REGISTER``: a file, one tenant id a line), an event of any other tenant is refused
as ``unknown_tenant`` by the collection stages and the monitor alike, sealed on the dead-letter topic like every
refusal, so it can be replayed once its tenant is registered.

The file is read again when it changes (a ConfigMap or Secret mounted as a file is replaced in place), checked
at most every ``check_s`` seconds and only between batches: the stages see one register per batch
(:attr:`services.stages.collection.CollectionContext.tenants`). A file that no longer reads keeps the last one
that did, and says so in the log and in ``lineage_tenant_register_failures_total``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from schemas.events import Reference
from services.errors import LineageError

log = logging.getLogger(__name__)

Tenants = frozenset[str]
"""The tenant ids a register holds."""

MAX_REGISTER_BYTES = 64 * 1024 * 1024
"""The largest register file read: a million tenants of 64 characters fit with room to spare."""

UNKNOWN_TENANT_MESSAGE = "tenant_id is not in the tenant register"
"""The dead letter's message for an event of an unregistered tenant: it never repeats the id."""

_REFERENCE: TypeAdapter[str] = TypeAdapter(Reference)


class TenantRegisterError(LineageError, ValueError):
    """The tenant register file cannot be read or holds a line that is no tenant id. The message names the file's
    line, never its text."""


def parse_register(text: str) -> Tenants:
    """The tenant ids of a register's ``text``: one a line, blank lines and ``#`` comments ignored, each a
    reference as the event contract's ``tenant_id`` is (letters, digits, ``.``, ``_``, ``:`` and ``-``)."""
    tenants: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.partition("#")[0].strip()
        if not entry:
            continue
        try:
            tenants.add(_REFERENCE.validate_python(entry, strict=True))
        except ValidationError:
            message = f"line {number} of the tenant register is not a tenant id as events write one"
            raise TenantRegisterError(message) from None
    if not tenants:
        raise TenantRegisterError("the tenant register names no tenant: every event would be refused")
    return frozenset(tenants)


def read_register(path: Path) -> Tenants:
    """The tenant ids in the file at ``path`` (:func:`parse_register`)."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_REGISTER_BYTES + 1)
    except OSError as error:
        raise TenantRegisterError(f"the tenant register {path} cannot be read ({type(error).__name__})") from None
    if len(data) > MAX_REGISTER_BYTES:
        raise TenantRegisterError(f"the tenant register {path} is larger than {MAX_REGISTER_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise TenantRegisterError(f"the tenant register {path} is not UTF-8 text") from None
    return parse_register(text)


Stamp = tuple[int, int, int]
"""What tells a file changed without reading it: its inode, size and modification time (ns)."""


def _stamp(path: Path) -> Stamp | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_ino, status.st_size, status.st_mtime_ns


class TenantRegister:
    """The register in a file, read at start (an error then stops the start) and again whenever it changes."""

    def __init__(
        self,
        path: Path,
        check_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        on_failure: Callable[[], None] | None = None,
    ) -> None:
        self.path = path
        self.check_s = check_s
        self._clock = clock
        self._on_failure = on_failure
        self._stamp = _stamp(path)
        self.tenants = read_register(path)
        self._checked = clock()

    def current(self) -> Tenants:
        """The register as the file says now, looked at no more often than every ``check_s`` seconds: the same
        object as long as the file did not change (or no longer reads)."""
        now = self._clock()
        if now - self._checked < self.check_s:
            return self.tenants
        self._checked = now
        stamp = _stamp(self.path)
        if stamp == self._stamp:
            return self.tenants
        try:
            tenants = read_register(self.path)
        except TenantRegisterError as error:
            log.error("kept the last tenant register (%d tenants): %s", len(self.tenants), error)
            if self._on_failure is not None:
                self._on_failure()
            return self.tenants  # the file is read again at the next check, changed or not
        self._stamp = stamp
        if tenants != self.tenants:
            log.info("tenant register read again: %d tenants (was %d)", len(tenants), len(self.tenants))
            self.tenants = tenants
        return self.tenants


__all__ = [
    "UNKNOWN_TENANT_MESSAGE",
    "TenantRegister",
    "TenantRegisterError",
    "Tenants",
    "parse_register",
    "read_register",
]
