"""The in-process hub: routing by wallet, skipping the originating connection."""

from __future__ import annotations

from typing import Any

from atlas.chat.hub import Hub, frame_event, message_event


class Sub:
    def __init__(self, wallet: str, ident: str) -> None:
        self.wallet = wallet
        self.id = ident
        self.got: list[dict[str, Any]] = []

    def offer(self, event: dict[str, Any]) -> None:
        self.got.append(event)


async def test_events_reach_only_the_named_wallets() -> None:
    hub = Hub(redis_url=None, namespace="t")
    alice1, alice2, bob, carol = Sub("a", "1"), Sub("a", "2"), Sub("b", "3"), Sub("c", "4")
    for s in (alice1, alice2, bob, carol):
        hub.register(s)
    await hub.publish([message_event(conversation_id="c", seq=1, server_ts="t", sender="a", peer="b", envelope={})])
    assert len(alice1.got) == len(alice2.got) == len(bob.got) == 1
    assert carol.got == []
    await hub.publish([frame_event(("a",), {"type": "receipt"}, skip="1")])
    assert len(alice1.got) == 1
    assert len(alice2.got) == 2
    assert len(bob.got) == 1
    hub.unregister(alice2)
    await hub.publish([frame_event(("a",), {"type": "typing"})])
    assert len(alice1.got) == 2
    assert len(alice2.got) == 2
    assert {s.id for s in hub.connections()} == {"1", "3", "4"}
