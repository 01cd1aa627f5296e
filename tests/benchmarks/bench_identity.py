"""The store role's identity lookup as history grows: event_identity (migration 0013) against collection_lineage.

Each batch the store role writes first asks which of its identities (tenant, event id) are already recorded. The
question used to be asked of collection_lineage itself; it is now asked of event_identity. Both tables are filled
here with the same identities, spread over 24 months of occurred_at as a store running for two years holds them
(one partition a month), and each is asked for batches of 2,000 new ids and of 20 ids already stored (best of
three). Run with `make bench` (after bench_pipeline); figures go into bench-results.json under "identity_lookup".
In its own process: the embedded engine belongs to one process.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from functools import partial
from pathlib import Path
from typing import Any

from clickhouse_connect.driver.client import Client

from services.settings import Settings
from services.store.client import connect
from services.store.lineage_store import LineageStore
from tests.benchmarks.bench_scale_out import merge_results

LINEAGE_LOOKUP = (  # the query of stored_digests before migration 0013
    "SELECT tenant_id, event_id, groupUniqArray(content_digest) FROM collection_lineage "
    "WHERE event_id IN {ids:Array(UUID)} GROUP BY tenant_id, event_id"
)
CHUNK = 1_000_000
DATABASE = "bench_identity"


def _fill(client: Client, start: int, rows: int) -> None:
    """``rows`` more identities (numbers ``start``..), in both tables, inserted a million at a time."""
    for first in range(start, start + rows, CHUNK):
        count = min(CHUNK, start + rows - first)
        numbers = f"numbers({first}, {count})"
        client.command(
            f"INSERT INTO {DATABASE}.collection_lineage (event_id, tenant_id, subject_pseudonym, occurred_at, "
            "ingested_at, content_digest) SELECT reinterpretAsUUID(SHA256(toString(number))), concat('tenant-', "
            "toString(number % 50)), lower(hex(SHA256(concat('s', toString(number % 100000))))), "
            f"now64(3) - toIntervalDay(number % 730), now64(3), lower(hex(SHA256(toString(number)))) FROM {numbers}"
        )
        client.command(
            f"INSERT INTO {DATABASE}.event_identity (event_id, tenant_id, content_digest) "
            "SELECT reinterpretAsUUID(SHA256(toString(number))), concat('tenant-', toString(number % 50)), "
            f"lower(hex(SHA256(toString(number)))) FROM {numbers}"
        )


def _best_ms(ask: Any, rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        ask()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def _stored_ids(store: LineageStore, count: int) -> list[tuple[str, uuid.UUID]]:
    rows = store.query(f"SELECT tenant_id, event_id FROM event_identity ORDER BY rand() LIMIT {count}").rows
    return [(str(tenant), uuid.UUID(str(event_id))) for tenant, event_id in rows]


def bench_identity(sizes: list[int], workdir: Path) -> dict[str, Any]:
    settings = Settings(clickhouse_path=workdir / "chdb", clickhouse_database=DATABASE)
    store = LineageStore(connect(settings), DATABASE)
    store.migrate()
    filler = connect(settings)  # a second client of the same engine, for the bulk inserts
    figures: dict[str, Any] = {"batch_ids": 2000, "months": 24, "rounds": []}
    filled = 0
    for size in sizes:
        _fill(filler, filled, size - filled)
        filled = size
        new = [("tenant-1", uuid.uuid4()) for _ in range(2000)]
        stored = _stored_ids(store, 20)
        found = store.stored_digests(stored)
        assert len(found) == len(stored), "every stored identity is found"
        ids = {"ids": [str(event_id) for _, event_id in new]}
        row = {
            "rows": size,
            "event_identity_new_2000_ms": _best_ms(partial(store.stored_digests, new)),
            "event_identity_stored_20_ms": _best_ms(partial(store.stored_digests, stored)),
            "collection_lineage_new_2000_ms": _best_ms(partial(store.query, LINEAGE_LOOKUP, ids)),
        }
        figures["rounds"].append(row)
        print(
            f"identity lookup at {size:,} rows over 24 months: "
            f"2,000 new ids {row['event_identity_new_2000_ms']:.0f} ms "
            f"(collection_lineage: {row['collection_lineage_new_2000_ms']:.0f} ms); "
            f"20 stored ids {row['event_identity_stored_20_ms']:.0f} ms",
            flush=True,
        )
    store.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,5000000,20000000", help="rows per table, comma-separated")
    parser.add_argument("--smoke", action="store_true", help="10,000 rows: checks the bench runs")
    parser.add_argument("--results", type=Path, default=Path("bench-results.json"))
    args = parser.parse_args()
    sizes = [10_000] if args.smoke else [int(size) for size in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as workdir:
        figures = bench_identity(sizes, Path(workdir))
    if not args.smoke:
        merge_results(args.results, "identity_lookup", figures)
        print(f"figures written to {args.results} under identity_lookup")


if __name__ == "__main__":
    main()
