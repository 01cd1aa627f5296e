"""Reads and writes of the lineage tables. Blocking: callers keep it off the event loop."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID

from clickhouse_connect.datatypes.base import ClickHouseType
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.query import QueryResult as ClickHouseResult

from services.settings import Settings
from services.sink.rows import DEAD_LETTER_COLUMNS, LINEAGE_COLUMNS, Origin, Row
from services.store.client import StoreQueryError, connect
from services.store.migrations import DATABASE_NAME, migrate
from services.store.read_guard import DEFAULT_QUERY_LIMITS, QueryLimits, ReadGuard, refused


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]

    def records(self) -> list[dict[str, Any]]:
        """Each row as a column -> value mapping."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


class Delivery(NamedTuple):
    """A produced message as the broker acknowledged it, and the event id it says it carries (if any)."""

    topic: str
    partition: int
    offset: int
    event_id: str | None


@dataclass(frozen=True)
class Accounting:
    """Where the store holds each asked-for message, by the coordinates it was collected from.

    ``stored``: a lineage row of its event id, or a recorded re-delivery of it, at exactly those coordinates.
    ``dead_lettered``: a dead letter at those coordinates. A message in neither is not stored (yet).
    """

    stored: set[Origin]
    dead_lettered: set[Origin]


MAX_PARTITIONS_PER_INSERT = 1200
"""Tables are partitioned by month of the event; a replay of the history since the policy's first version
(2018-07) spans more months than ClickHouse's default of 100 per insert, which would refuse every such batch
forever. Each month makes one part whether the batch is split or not, so the limit is raised (100 years of
months), and the writer splits any block that would still span more (services.sink.rows): no valid batch can
exceed it, whatever its times."""
_INSERT = {"max_partitions_per_insert_block": MAX_PARTITIONS_PER_INSERT}


_ALERT_KEY = "tenant_id, code, activity, actor, purpose, recipient_kind, recipient_id"
"""What makes violations identical for alerting (services.monitor.alerts.AlertKey), as columns."""
_ALERT_KEY_TYPE = f"Tuple({', '.join(['String'] * len(_ALERT_KEY.split(',')))})"
_READABLE_TIME = (
    "least(greatest({}, toDateTime64('0001-01-01 00:00:00', 3, 'UTC')), "
    "toDateTime64('9999-12-31 23:59:59.999', 3, 'UTC'))"
)
"""A stored time clamped to what the client can read back (years 1-9999): ClickHouse keeps a time as it was given
(0001-01-01T00:00+14:00 is stored as 0000-12-31T10:00Z), and one such row must not make a summary unreadable."""


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


class LineageStore:
    """The lineage database of one deployment."""

    def __init__(
        self,
        client: Client,
        database: str,
        cluster: str | None = None,
        limits: QueryLimits = DEFAULT_QUERY_LIMITS,
        reopen: Callable[[], Client] | None = None,
    ) -> None:
        if not DATABASE_NAME.match(database):
            raise ValueError(f"invalid database name {database!r}")
        self._client = client
        self.database = database
        self.cluster = cluster  # the ClickHouse cluster its tables are replicated on (migrations ON CLUSTER)
        self.limits = limits  # of every read through query()
        self._guard = ReadGuard(client, limits.timeout_s)
        self._reopen = reopen  # a fresh connection to the embedded engine, after a read failed on this one
        self._column_types: dict[tuple[str, tuple[str, ...]], Sequence[ClickHouseType]] = {}  # see insert_rows

    @classmethod
    def open(cls, settings: Settings) -> LineageStore:
        """The configured store, with the configured query limits."""
        limits = QueryLimits.from_settings(settings)
        # The embedded engine keeps a failed query's first block on its connection and hands it to the next
        # query (clickhouse-connect's chdb backend, chdb 4.4): after a failed read the connection is replaced.
        reopen = (lambda: connect(settings)) if settings.clickhouse_url is None else None
        return cls(connect(settings), settings.clickhouse_database, settings.clickhouse_cluster, limits, reopen)

    @classmethod
    def open_reader(cls, settings: Settings) -> LineageStore:
        """A second connection to the configured store, for the query path; its tables are the writer's to migrate.

        With the embedded engine it is a chDB handle of its own: a read neither waits for the store's inserts nor
        holds them back (reads were capped by the time limit only, which ClickHouse checks between blocks), and
        whatever a failed read leaves on its connection never reaches the writer's lookups.
        """
        reader = cls.open(settings)
        reader._client.database = reader.database
        return reader

    def migrate(self) -> list[str]:
        """Apply pending migrations; return their names. Unqualified table names then resolve here."""
        applied = migrate(self._client, self.database, self.cluster)
        self._client.database = self.database
        self._column_types.clear()
        return applied

    def insert(self, lineage: Sequence[Row], dead_letters: Sequence[Row], token: str | None = None) -> None:
        """Insert one batch. Re-inserting the same events is harmless: the tables replace by key.

        With a ``token`` (one per consumed batch), a retried insert of the same batch is dropped by ClickHouse
        itself, so it leaves no second physical copy either (migration 0006 keeps the window of tokens).
        """
        self.insert_rows("collection_lineage", LINEAGE_COLUMNS, lineage, token)
        self.insert_rows("dead_letters", DEAD_LETTER_COLUMNS, dead_letters, token)

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Row], token: str | None = None) -> None:
        """Insert ``rows`` into ``table`` of this database (tables replace by key, so re-inserts are harmless)."""
        if rows:
            settings = _INSERT if token is None else {**_INSERT, "insert_deduplication_token": token}
            name, names = f"{self.database}.{table}", tuple(columns)
            types = self._column_types.get((name, names))
            if types is None:  # the client asks the store for the table's types (DESCRIBE) unless given them
                types = self._client.create_insert_context(name, list(names)).column_types
                self._column_types[(name, names)] = types
            try:
                self._client.insert(name, rows, column_names=list(names), column_types=types, settings=settings)
            except Exception:
                self._column_types.pop((name, names), None)  # asked again on the retry: a migration may have run since
                raise

    def stored_digests(self, identities: Sequence[tuple[str, UUID]]) -> dict[tuple[str, UUID], frozenset[str]]:
        """The content digests claimed for each of ``identities`` (tenant, event id) that has any.

        Read from event_identity, sorted by event id (migration 0013): the cost of a batch's lookup follows the
        batch, not the history. A claim's row may not have landed yet: see :meth:`landed`.
        """
        if not identities:
            return {}
        wanted = set(identities)
        result = self._select(
            f"SELECT tenant_id, event_id, groupUniqArray(content_digest) FROM {self.database}.event_identity "
            "WHERE event_id IN {ids:Array(UUID)} GROUP BY tenant_id, event_id",
            parameters={"ids": list({event_id for _, event_id in wanted})},  # unsorted: UUIDs compare in Python
        )
        found = {(row[0], row[1]): frozenset(row[2]) for row in result.result_rows}
        return {identity: digests for identity, digests in found.items() if identity in wanted}

    def landed(self, keys: Sequence[tuple[str, str, UUID]]) -> set[tuple[str, UUID]]:
        """Which of ``keys`` (tenant, subject pseudonym, event id) have a row in collection_lineage.

        Asked only of claimed identities (re-deliveries, which come after faults): by the table's primary key.
        """
        if not keys:
            return set()
        wanted = {(tenant, event_id) for tenant, _, event_id in keys}
        result = self._select(
            f"SELECT DISTINCT tenant_id, event_id FROM {self.database}.collection_lineage "
            "WHERE tenant_id IN {tenants:Array(String)} AND subject_pseudonym IN {subjects:Array(String)} "
            "AND event_id IN {ids:Array(UUID)}",
            parameters={
                "tenants": sorted({tenant for tenant, _, _ in keys}),
                "subjects": sorted({subject for _, subject, _ in keys}),
                "ids": list({event_id for _, _, event_id in keys}),
            },
        )
        return {(row[0], row[1]) for row in result.result_rows} & wanted

    def monitor_state(
        self, topic: str, partition: int, before_offset: int, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        """The monitor's state of ``keys`` ((table, key) pairs) of one activity partition, as the messages below
        ``before_offset`` left them: (table, key) -> the latest value (JSON); a key without state is absent.

        By the table's primary key (topic, partition, table, key, offset): the cost follows the keys asked for.
        """
        if not keys:
            return {}
        wanted = set(keys)
        result = self._select(
            f"SELECT state_table, state_key, argMax(value, source_offset) FROM {self.database}.monitor_state "
            "WHERE source_topic = {t:String} AND source_partition = {p:UInt32} AND source_offset < {o:UInt64} "
            "AND state_table IN {tables:Array(String)} AND state_key IN {keys:Array(String)} "
            "GROUP BY state_table, state_key",
            parameters={
                "t": topic,
                "p": partition,
                "o": before_offset,
                "tables": sorted({table for table, _ in wanted}),
                "keys": sorted({key for _, key in wanted}),
            },
        )
        return {(table, key): value for table, key, value in result.result_rows if (table, key) in wanted}

    def open_alert_windows(self, since: datetime) -> dict[tuple[str, ...], datetime]:
        """Alert group (tenant, code, activity, actor, purpose, recipient kind, recipient id) -> when its latest
        alert, published after ``since``, was published: the start of the group's open window."""
        result = self._select(
            f"SELECT {_ALERT_KEY}, max(published_at) FROM {self.database}.alerts "
            f"WHERE published_at > {{since:DateTime64(3, 'UTC')}} GROUP BY {_ALERT_KEY}",
            parameters={"since": since},
        )
        return {tuple(row[:-1]): _utc(row[-1]) for row in result.result_rows}

    def violation_summary(
        self, key: Sequence[str], after: datetime, until: datetime, sample_size: int
    ) -> tuple[Any, ...] | None:
        """What the violations of one alert group decided in (``after``, ``until``] amount to, or None if none:
        (count, distinct subjects, the first event ids, first and last occurred_at, severity, article, message,
        policy version). One row per violation (FINAL): a re-delivered event is counted once."""
        names = [name.strip() for name in _ALERT_KEY.split(",")]
        where = " AND ".join(f"{name} = {{k{i}:String}}" for i, name in enumerate(names))
        parameters: dict[str, Any] = {f"k{i}": value for i, value in enumerate(key)}
        return self._violations_summary(where, parameters, after, until, sample_size)

    def overflow_summary(
        self,
        tenant_id: str | None,
        code: str,
        after: datetime,
        until: datetime,
        sample_size: int,
        excluded: Sequence[Sequence[str]],
    ) -> tuple[Any, ...] | None:
        """:meth:`violation_summary` of an overflow alert group: the violations of ``code`` and ``tenant_id`` (of
        every tenant when None), but those of the ``excluded`` groups (each as the columns of an alert group),
        which are counted in their own groups' summaries. They travel as one query parameter: a tenant's groups
        of one code, as many as the monitor's cap per tenant allows (services.monitor.alerts)."""
        where = "code = {code:String}"
        parameters: dict[str, Any] = {"code": code}
        if tenant_id is not None:
            where += " AND tenant_id = {tenant:String}"
            parameters["tenant"] = tenant_id
        if excluded:
            where += f" AND ({_ALERT_KEY}) NOT IN {{excluded:Array({_ALERT_KEY_TYPE})}}"
            parameters["excluded"] = [tuple(group) for group in excluded]
        return self._violations_summary(where, parameters, after, until, sample_size)

    def _violations_summary(
        self, where: str, parameters: dict[str, Any], after: datetime, until: datetime, sample_size: int
    ) -> tuple[Any, ...] | None:
        result = self._select(
            f"SELECT count(), uniqExact(subject_pseudonym), arrayMap(pair -> pair.2, "
            f"arraySlice(arraySort(groupArray((occurred_at, toString(event_id)))), 1, {int(sample_size)})), "
            f"{_READABLE_TIME.format('min(occurred_at)')}, {_READABLE_TIME.format('max(occurred_at)')}, "
            "any(severity), any(article), any(message), any(policy_version) "
            f"FROM {self.database}.violations FINAL WHERE {where} "
            "AND decided_at > {after:DateTime64(3, 'UTC')} AND decided_at <= {until:DateTime64(3, 'UTC')}",
            parameters={**parameters, "after": after, "until": until},
        )
        row = result.result_rows[0] if result.result_rows else None
        if row is None or not row[0]:
            return None
        count, subjects, sample, first, last, *rest = row
        return (count, subjects, tuple(sample), _utc(first), _utc(last), *rest)

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult:
        """Run one read (SELECT, WITH, EXPLAIN, SHOW TABLES, DESCRIBE TABLE) under :attr:`limits`.

        The statement is checked by ClickHouse's own lexer and parser before it is sent (:class:`ReadGuard`):
        INTO OUTFILE, FORMAT and SETTINGS clauses, writes and functions that reach past the database (file, url,
        s3, remote, …) are refused with a :class:`StoreQueryError` that names what was refused, never the text.
        An INSERT or a command is refused before anything else: clickhouse-connect would apply their settings
        with SET, and once ``readonly`` is set on the embedded engine's one session it cannot be set back, so
        every later insert of the store would fail until a restart. A read carries ``readonly`` and the limits
        in its own SETTINGS clause.
        """
        try:
            context = self._client.create_query_context(
                query=sql, parameters=parameters or {}, settings=self.limits.server_settings()
            )
            if context.is_insert or context.is_command:
                raise refused("a write")
            if not isinstance(context.final_query, str):
                raise refused("a query with binary parameters")
            try:
                self._guard.check(context.final_query)
                result = self._client.query(context=context)
                rows = [list(row) for row in result.result_rows]
            except StoreQueryError:
                raise  # refused before the statement was sent: nothing of it is on the connection
            except Exception:
                self._renew()  # nothing a failed read left on the connection reaches the next caller
                raise
        except (ValueError, OverflowError, KeyError, IndexError, TypeError) as exc:
            # KeyError, IndexError, TypeError: the client's %-style binding (`%(name)s` without that parameter,
            # `%d` given text); their text would be the request's (a parameter name), so only the type is said.
            raise StoreQueryError(
                f"the query or its result holds a value the client cannot convert ({type(exc).__name__})"
            ) from exc
        return QueryResult(columns=list(result.column_names), rows=rows)

    def _select(self, sql: str, parameters: dict[str, Any] | None = None) -> ClickHouseResult:
        """Every read of the store's own (lookups, state, summaries) goes through here: after a failed one the
        embedded connection is replaced, so a block the failure left on it never reaches the next lookup (the
        store role's next identity lookup would take it for stored events, and skip them)."""
        try:
            return self._client.query(sql, parameters=parameters)
        except Exception:
            self._renew()
            raise

    def _renew(self) -> None:
        """Replace the embedded engine's connection (a server's needs nothing: each query is its own request)."""
        if self._reopen is None:
            return
        stale, self._client = self._client, self._reopen()
        self._client.database = stale.database
        self._guard = ReadGuard(self._client, self.limits.timeout_s)
        stale.close()

    def accounting(self, deliveries: Sequence[Delivery]) -> Accounting:
        """Where each of ``deliveries`` ended: stored (lineage or re-delivery) or dead-lettered, by coordinates.

        A stored row matches only with the delivery's own event id too, so coordinates reused by a broker that
        restarted empty do not account a new message by an old row.
        """
        by_id: dict[str, list[Delivery]] = {}
        for delivery in deliveries:
            if delivery.event_id is not None and _is_uuid(delivery.event_id):  # no UUID: cannot be in lineage
                by_id.setdefault(str(UUID(delivery.event_id)), []).append(delivery)
        stored: set[Origin] = set()
        if by_id:
            result = self._select(
                f"SELECT toString(event_id), source_topic, source_partition, source_offset "
                f"FROM {self.database}.collection_lineage WHERE event_id IN {{ids:Array(UUID)}} "
                f"UNION ALL SELECT toString(event_id), source_topic, source_partition, source_offset "
                f"FROM {self.database}.redeliveries WHERE event_id IN {{ids:Array(UUID)}}",
                parameters={"ids": sorted(by_id)},
            )
            found = {(row[0], row[1], int(row[2]), int(row[3])) for row in result.result_rows}
            stored = {
                (d.topic, d.partition, d.offset)
                for event_id, wanted in by_id.items()
                for d in wanted
                if (event_id, d.topic, d.partition, d.offset) in found
            }
        dead: set[Origin] = set()
        wanted_origins = {(d.topic, d.partition, d.offset) for d in deliveries}
        if wanted_origins:  # one query, however many partitions (one each held the API's reads for minutes)
            offsets = [offset for _, _, offset in wanted_origins]
            result = self._select(
                f"SELECT DISTINCT source_topic, source_partition, source_offset FROM {self.database}.dead_letters "
                "WHERE source_topic IN {t:Array(String)} AND source_partition IN {p:Array(UInt32)} "
                "AND source_offset BETWEEN {lo:UInt64} AND {hi:UInt64}",
                parameters={
                    "t": sorted({topic for topic, _, _ in wanted_origins}),
                    "p": sorted({partition for _, partition, _ in wanted_origins}),
                    "lo": min(offsets),
                    "hi": max(offsets),
                },
            )
            found_dead = {(row[0], int(row[1]), int(row[2])) for row in result.result_rows}
            dead = wanted_origins & found_dead
        return Accounting(stored=stored, dead_lettered=dead)

    def summary(self) -> dict[str, Any]:
        """Headline counts for the API and the CLI."""
        db = self.database
        lineage = self._select(
            f"SELECT kind, count(DISTINCT event_id), count(DISTINCT subject_pseudonym), sum(length(removed_paths)) "
            f"FROM {db}.collection_lineage FINAL GROUP BY kind ORDER BY kind"
        ).result_rows
        dead = self._select(
            f"SELECT reason, count() FROM {db}.dead_letters FINAL GROUP BY reason ORDER BY reason"
        ).result_rows
        return {
            "lineage_events": sum(int(r[1]) for r in lineage),
            "by_kind": [
                {"kind": r[0], "events": int(r[1]), "subjects": int(r[2]), "removed_fields": int(r[3])} for r in lineage
            ],
            "dead_letters": sum(int(r[1]) for r in dead),
            "dead_letters_by_reason": [{"reason": r[0], "count": int(r[1])} for r in dead],
        }

    def close(self) -> None:
        self._client.close()
