"""The in-process moving window: exact budget, retry-after, and idle keys are forgotten."""

from __future__ import annotations

from atlas.kit.ratelimit import MemoryMovingWindow


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


async def test_moving_window() -> None:
    clock = Clock()
    window = MemoryMovingWindow(3, 60, clock)
    assert [await window.hit("a") for _ in range(3)] == [None, None, None]
    assert await window.hit("a") == 60
    assert await window.hit("b") is None  # keys are independent
    clock.t += 30
    assert await window.hit("a") == 30
    clock.t += 30  # the first three hits leave the window
    assert await window.hit("a") is None
    clock.t += 61
    await window.hit("c")  # triggers a sweep: idle keys are dropped
    assert set(window._hits) == {"c"}
    clock.t += 61
    await window.hit("d")
    assert set(window._hits) == {"d"}
