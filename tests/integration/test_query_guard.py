"""The query path reads, and only reads: nothing sent through it writes a file, reads one or reaches out.

The embedded engine is clickhouse-local inside this process, where ``readonly=1`` still lets ``INTO OUTFILE``
write (append to, truncate) any file the process may, the ``file()`` function read any, and ``DESCRIBE`` run
table functions. Each statement below is refused before it is sent, with a message that names what was refused
but not the statement, and the store's own inserts go on after each refusal.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from services.settings import Settings
from services.sink.rows import IDENTITY_COLUMNS
from services.store.client import StoreQueryError, connect
from services.store.lineage_store import LineageStore

MARK = "needle-7731"  # in every refused statement: the refusal must not echo it


@pytest.fixture
def store(settings: Settings) -> Iterator[LineageStore]:
    lineage_store = LineageStore(connect(settings), settings.clickhouse_database)
    lineage_store.migrate()
    try:
        yield lineage_store
    finally:
        lineage_store.close()


def _outfile_statements(target: Path) -> list[str]:
    """INTO OUTFILE however it is written: case, comments, newlines and tabs between the words, every mode."""
    path = f"'{target}'"
    return [
        f"SELECT '{MARK}' INTO OUTFILE {path}",
        f"SELECT '{MARK}' INTO OUTFILE {path} APPEND",
        f"SELECT '{MARK}' INTO OUTFILE {path} TRUNCATE",
        f"SELECT '{MARK}' INTO OUTFILE {path} AND STDOUT",
        f"SELECT '{MARK}' INTO OUTFILE {path} FORMAT TSVRaw",
        f"SELECT '{MARK}' INTO OUTFILE {path} COMPRESSION 'gzip' LEVEL 3",
        f"select '{MARK}' into outfile {path}",
        f"SELECT '{MARK}' INTO\n-- a comment\n\tOUTFILE {path}",
        f"SELECT '{MARK}' INTO/* a comment */OUTFILE {path} APPEND",
        f"SELECT '{MARK}' INTO # a comment\nOUTFILE {path}",
        f"SELECT '{MARK}' INTO /* nested /* comment */ */ OUTFILE {path}",
        f"WITH '{MARK}' AS x SELECT x INTO OUTFILE {path}",
        f"SELECT 1 UNION ALL SELECT '{MARK}' INTO OUTFILE {path}",
        f"(SELECT '{MARK}') INTO OUTFILE {path}",
        f"SELECT * FROM dead_letters INTO OUTFILE {path}",
        f"EXPLAIN SELECT '{MARK}' INTO OUTFILE {path}",
        f"SHOW TABLES INTO OUTFILE {path}",
        f"DESCRIBE TABLE dead_letters INTO OUTFILE {path}",
        f"EXISTS TABLE dead_letters INTO OUTFILE {path}",
        f"SELECT $${MARK}$$ INTO OUTFILE {path}",
    ]


def _reaching_out(secret: Path) -> list[str]:
    """Reads of a file, another server or service: as a table, as a function, in IN, behind DESCRIBE or EXPLAIN."""
    path = f"'{secret}'"
    return [
        f"SELECT file({path}) AS {MARK.replace('-', '_')}",
        f"SELECT `file`({path})",
        f"SELECT 1 IN file({path}, 'LineAsString')",
        f"SELECT * FROM file({path}, 'LineAsString')",
        f"DESCRIBE file({path}, 'TSVWithNames')",
        f"DESC TABLE file({path}, 'TSVWithNames')",
        f"EXPLAIN SYNTAX SELECT * FROM file({path}, 'LineAsString')",
        f"EXPLAIN TABLE OVERRIDE file({path}) COLUMNS (a String)",
        f"SELECT * FROM (SELECT * FROM file({path}, 'LineAsString'))",
        f"WITH t AS (SELECT * FROM file({path}, 'LineAsString')) SELECT * FROM t",
        "DESCRIBE url('http://127.0.0.1:9/', 'TSVWithNames')",
        "SELECT * FROM url('http://127.0.0.1:9/', 'LineAsString')",
        "SELECT * FROM s3('http://127.0.0.1:9/bucket/key', 'LineAsString')",
        "SELECT * FROM remote('127.0.0.1:9', system.one)",
        "SELECT * FROM mysql('127.0.0.1:9', 'db', 'table', 'user', 'password')",
        f"SELECT * FROM sqlite('{secret.parent / 'created.db'}', 'table')",
        "SELECT * FROM executable('script.sh', 'TSV', 'line String')",
        "SELECT * FROM python(settings)",
        "SELECT * FROM filesystem('/')",
        "SELECT * FROM merge('system', '^one$')",
        "SELECT aiEmbed('http://127.0.0.1:9/', 'text')",
    ]


OTHER_STATEMENTS = [
    f"SELECT '{MARK}' FORMAT CSV",
    f"EXPLAIN SELECT '{MARK}' FORMAT CSV",
    f"EXPLAIN json = 1 SELECT '{MARK}' SETTINGS max_execution_time = 0",
    f"SELECT '{MARK}' SETTINGS max_execution_time = 0",
    f"SELECT * FROM (SELECT '{MARK}' SETTINGS readonly = 0)",
    f"SELECT '{MARK}' WHERE 1 IN (SELECT 1 SETTINGS max_result_rows = 0)",
    f"SHOW TABLES LIKE '{MARK}' SETTINGS max_execution_time = 0",
    f"EXPLAIN AST INSERT INTO dead_letters (source_topic) VALUES ('{MARK}')",
    f"EXPLAIN AST INSERT INTO dead_letters (source_topic) SELECT '{MARK}'",
    f"EXPLAIN PIPELINE INSERT INTO dead_letters (source_topic) SELECT '{MARK}'",
    f"SHOW CREATE TABLE dead_letters /* {MARK} */",
    f"USE system /* {MARK} */",
]


def _assert_refused(store: LineageStore, sql: str, tag: str) -> None:
    with pytest.raises(DatabaseError) as refused:
        store.query(sql)
    assert "READONLY" in str(refused.value)
    assert MARK not in str(refused.value)
    # Each refusal leaves the engine's one session writable: the store's own inserts go on.
    store.insert_rows("event_identity", IDENTITY_COLUMNS, [(uuid.uuid4(), "t", "d" * 64)], f"tok-{tag}")


def test_into_outfile_is_refused_however_it_is_written_and_writes_nothing(store: LineageStore, tmp_path: Path) -> None:
    files = tmp_path / "files"
    files.mkdir()
    target = files / "victim.txt"
    target.write_text("original\n")
    statements = _outfile_statements(target)

    for number, sql in enumerate(statements):
        _assert_refused(store, sql, f"outfile-{number}")

    assert target.read_text() == "original\n"
    assert sorted(p.name for p in files.iterdir()) == ["victim.txt"]
    assert store.query("SELECT count() FROM event_identity").rows == [[len(statements)]]


def test_reads_of_files_and_other_services_are_refused(store: LineageStore, tmp_path: Path) -> None:
    files = tmp_path / "files"
    files.mkdir()
    secret = files / "pseudonym.key"
    secret.write_text(f"{MARK}-key\n")
    statements = _reaching_out(secret)

    for number, sql in enumerate(statements):
        _assert_refused(store, sql, f"outside-{number}")

    assert sorted(p.name for p in files.iterdir()) == ["pseudonym.key"]  # no sqlite file created either
    assert store.query("SELECT count() FROM event_identity").rows == [[len(statements)]]


def test_format_and_settings_clauses_and_statements_other_than_reads_are_refused(store: LineageStore) -> None:
    for number, sql in enumerate(OTHER_STATEMENTS):
        _assert_refused(store, sql, f"other-{number}")

    assert store.query("SELECT count() FROM event_identity").rows == [[len(OTHER_STATEMENTS)]]
    assert store.query("SELECT count() FROM dead_letters").rows == [[0]]


READS = [
    "SELECT 1",
    "WITH 2 AS two SELECT two",
    "SELECT 'INTO OUTFILE', 'FORMAT CSV', 'SETTINGS a = 1', 'file(x)' /* INTO OUTFILE */",
    "SELECT 1 AS `INTO OUTFILE`",
    "SELECT format('{} {}', 'a', 'b'), formatDateTime(now(), '%Y')",
    "SELECT count() FROM numbers(10)",
    "SELECT * FROM generate_series(1, 3)",
    "SELECT * FROM values('x UInt8', 1, 2)",
    "SELECT * FROM view(SELECT 1)",
    "SELECT number FROM numbers(5) WHERE number IN (SELECT number FROM numbers(3)) ORDER BY number",
    "SELECT number, sum(number) OVER (ORDER BY number) FROM numbers(3) ORDER BY number",
    "SELECT 1 UNION ALL SELECT 2 ORDER BY 1",
    "SELECT 1 INTERSECT SELECT 1",
    "SELECT 1 EXCEPT SELECT 2",
    "SELECT kind, count() FROM collection_lineage FINAL ARRAY JOIN purposes AS purpose GROUP BY kind",
    "SELECT reason, count() FROM dead_letters FINAL GROUP BY reason WITH TOTALS",
    "EXPLAIN SELECT 1",
    "EXPLAIN AST SELECT 1",
    "EXPLAIN json = 1, indexes = 1 SELECT count() FROM dead_letters",
    "EXPLAIN PIPELINE SELECT count() FROM dead_letters",
    "SHOW TABLES",
    "SELECT name FROM system.tables WHERE database = currentDatabase()",
    "SELECT table, sum(rows) FROM system.parts WHERE active GROUP BY table",
    "SELECT name, type FROM `system`.`columns` WHERE table = 'dead_letters'",
    "SELECT 'system.errors'",
    "DESCRIBE dead_letters",
    "DESC TABLE dead_letters",
    "SELECT 1;",
]


SYSTEM_TABLES_OF_OTHER_CALLERS = [  # statements and the values bound to them, file paths (fourth red-team pass)
    "SELECT name, last_error_message FROM system.errors",
    "SELECT query FROM system.processes",
    "SELECT * FROM `system`.`query_log`",
    'SELECT * FROM "system"."schema_inference_cache"',
    "SELECT * FROM SYSTEM . ERRORS",
    "SELECT (SELECT any(last_error_message) FROM system.errors)",
    "WITH e AS (SELECT * FROM system.errors) SELECT * FROM e",
    "SELECT 1 WHERE 'x' IN system.errors",
    "SELECT * FROM numbers(1) AS n JOIN system.text_log AS t ON 1",
]


def test_system_tables_holding_other_callers_queries_or_paths_are_refused(store: LineageStore) -> None:
    for sql in SYSTEM_TABLES_OF_OTHER_CALLERS:
        with pytest.raises(StoreQueryError, match="system table"):
            store.query(sql)

    tables = "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'dead_letters'"
    assert store.query(tables).rows == [[1]]


NAMES_AS_PARAMETERS = [
    ("SELECT name, last_error_message FROM {d:Identifier}.{t:Identifier}", {"d": "system", "t": "errors"}),
    ("SELECT query FROM {d:Identifier}.processes", {"d": "system"}),
    ("SELECT * FROM {t : identifier}", {"t": "system.query_log"}),
    ("SELECT * FROM collection_lineage WHERE {c:Identifier} = 1", {"c": "source_partition"}),
    ("SELECT (SELECT count() FROM {t:Identifier})", {"t": "system.errors"}),
]


def test_names_passed_as_parameters_are_refused(store: LineageStore) -> None:
    """Sixth red-team pass: ClickHouse binds an Identifier parameter after the guard has read the statement, so
    `{d:Identifier}.{t:Identifier}` with system / errors read other callers' failed lookups, values included."""
    for sql, parameters in NAMES_AS_PARAMETERS:
        with pytest.raises(StoreQueryError, match="a name passed as a parameter"):
            store.query(sql, parameters)


STORE_PATHS = [
    "SELECT * FROM system.databases",
    "SELECT t.* FROM system.tables AS t",
    "SELECT name, data_paths FROM system.tables",
    "SELECT name FROM system.databases WHERE data_path LIKE '/home/%'",
    "SELECT table, path FROM system.parts",
    "SELECT * FROM (SELECT name, metadata_path FROM system.tables)",
    "SELECT COLUMNS('path') FROM system.parts",
]


def test_the_stores_file_paths_are_refused(store: LineageStore) -> None:
    """Sixth red-team pass: the system tables a read may name still showed the store's folders (a home folder
    names its user) through their path columns and *; getServerSetting('path') too."""
    for sql in STORE_PATHS:
        with pytest.raises(StoreQueryError, match="the store's file paths"):
            store.query(sql)
    with pytest.raises(StoreQueryError, match="refused"):
        store.query("SELECT getServerSetting('path')")
    assert store.query("SELECT count() FROM system.parts WHERE database = currentDatabase()").rows[0][0] >= 0


def test_reads_still_run(store: LineageStore) -> None:
    for sql in READS:
        store.query(sql)
    assert ["dead_letters"] in store.query("SHOW TABLES").rows
    assert store.query("SELECT {n:UInt8} + 1", {"n": 1}).rows == [[2]]
