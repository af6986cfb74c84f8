"""A separate process appending to the ledger, for the multi-process and crash tests.

usage: ledger_worker.py DATABASE_URL PREFIX BATCHES BATCH_SIZE CONCURRENCY [SHARED]
Prints ``ACK <prefix> <first> <last>`` after each append returns (flushed), so the parent knows which
entries were acknowledged. BATCHES = 0 runs until killed. SHARED > 0 also appends the event ids
``shared-0 … shared-(SHARED-1)``, which other workers append too.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from datetime import UTC, datetime

from atlas.db import Database
from atlas.ledger import LedgerWriter, NewEntry


async def main(url: str, prefix: str, batches: int, size: int, concurrency: int, shared: int) -> None:
    db = Database(url)
    writer = LedgerWriter(db)
    counter = itertools.count()

    async def one() -> None:
        while True:
            b = next(counter)
            if batches and b >= batches:
                return
            first = b * size
            items = [
                NewEntry(f"{prefix}-{first + i}", "CONTENT_ACTION", "0x" + "ef" * 20, {"n": first + i}, datetime.now(UTC))
                for i in range(size)
            ]
            if shared:
                k = b % shared
                items.append(NewEntry(f"shared-{k}", "CONTENT_ACTION", "system", {"k": k}, datetime.now(UTC)))
            await writer.append(items)
            print(f"ACK {prefix} {first} {first + size - 1}", flush=True)

    await asyncio.gather(*(one() for _ in range(concurrency)))
    await db.dispose()


if __name__ == "__main__":
    url, prefix, batches, size, conc = sys.argv[1:6]
    shared = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    asyncio.run(main(url, prefix, int(batches), int(size), int(conc), shared))
