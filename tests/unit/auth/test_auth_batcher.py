"""Group commit: batches form under load, results go to the right caller, a poisoned item is isolated."""

from __future__ import annotations

import asyncio

import pytest

from atlas.auth.batch import Batcher


async def test_batches_form_and_results_are_routed() -> None:
    sizes: list[int] = []

    async def handler(items: list[int]) -> list[int | Exception]:
        sizes.append(len(items))
        await asyncio.sleep(0.01)
        return [i * 10 if i % 7 else ValueError(f"bad {i}") for i in items]

    batcher: Batcher[int, int] = Batcher(handler, max_batch=8)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(1, 30)), return_exceptions=True)
    await batcher.stop()
    for i, result in zip(range(1, 30), results, strict=True):
        if i % 7:
            assert result == i * 10
        else:
            assert isinstance(result, ValueError)
    assert max(sizes) == 8
    assert sum(sizes) == 29
    assert len(sizes) < 29


async def test_a_batch_that_raises_is_retried_one_by_one() -> None:
    calls: list[list[str]] = []

    async def handler(items: list[str]) -> list[str | Exception]:
        calls.append(items)
        if "poison" in items:
            raise RuntimeError("boom")
        return [s.upper() for s in items]

    batcher: Batcher[str, str] = Batcher(handler)
    results = await asyncio.gather(
        *(batcher.submit(s) for s in ("a", "b", "poison", "c")), return_exceptions=True
    )
    await batcher.stop()
    assert results[:2] == ["A", "B"]
    assert isinstance(results[2], RuntimeError)
    assert results[3] == "C"


async def test_lone_request_is_written_at_once_and_stop_fails_waiters() -> None:
    gate = asyncio.Event()

    async def handler(items: list[int]) -> list[int | Exception]:
        await gate.wait()
        return items  # type: ignore[return-value]  # ints are results here

    batcher: Batcher[int, int] = Batcher(handler)
    first = asyncio.create_task(batcher.submit(1))
    await asyncio.sleep(0.01)
    queued = asyncio.create_task(batcher.submit(2))
    await asyncio.sleep(0.01)
    await batcher.stop()
    with pytest.raises(RuntimeError):
        await queued
    first.cancel()


async def test_a_handler_bug_fails_the_callers_instead_of_hanging_them() -> None:
    async def handler(items: list[int]) -> list[int | Exception]:
        return []  # wrong length

    batcher: Batcher[int, int] = Batcher(handler)
    with pytest.raises(ValueError, match="zip"):
        await asyncio.wait_for(batcher.submit(1), timeout=5)
    # The batcher keeps serving afterwards.
    with pytest.raises(ValueError, match="zip"):
        await asyncio.wait_for(batcher.submit(2), timeout=5)
    await batcher.stop()


async def test_stop_during_a_write_fails_its_callers() -> None:
    started = asyncio.Event()

    async def handler(items: list[int]) -> list[int | Exception]:
        started.set()
        await asyncio.sleep(60)
        return list(items)

    batcher: Batcher[int, int] = Batcher(handler)
    waiter = asyncio.create_task(batcher.submit(1))
    await started.wait()
    await batcher.stop()
    with pytest.raises(RuntimeError):
        await asyncio.wait_for(waiter, timeout=5)
