"""The trust projection engine: ledger entries in, points / referral graph / coherence rows out.

One pure, synchronous reducer serves both the live projection (fed batch by batch from the event
bus, with the state of the wallets a batch touches loaded from the database) and ``atlas replay``
(fed the whole ledger into empty state). Because both run this same code over the same entries,
replay reproduces the live tables bit for bit — and any difference is a real drift.

A wallet's coherence is recomputed at the end of each batch for every wallet the batch *touched*
(named as actor, or as ``peer``/``referrer``/``invitee``/``wallet`` in the payload), as of the last
entry that touched it. Every fact the formula reads about a wallet changes only through an entry
that touches it, so the result does not depend on where batch boundaries fall.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from atlas.coherence.formula import Breakdown, Facts, compute

SYSTEM_ACTOR = "system"
_WALLET_KEYS = ("peer", "referrer", "invitee", "wallet")


class EntryLike(Protocol):
    """What the engine reads from a ledger entry (``atlas.ledger.LedgerEntry`` or an export line)."""

    @property
    def seq(self) -> int: ...
    @property
    def event_id(self) -> str: ...
    @property
    def event_type(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def payload(self) -> dict[str, Any]: ...
    @property
    def timestamp(self) -> str: ...


@dataclass
class Account:
    registered_seq: int
    registered_at: str
    as_of_seq: int
    as_of_at: str
    score: int = 0
    trust_level: str = "UNKNOWN"
    formula_version: int = 0


@dataclass
class Link:
    """One direction of a pair: what ``wallet`` did towards ``peer``."""

    sent_seq: int | None = None  # first MESSAGE_SENT wallet → peer
    accepted_seq: int | None = None  # first acceptance of their conversation (either side)
    blocked_seq: int | None = None  # wallet blocked peer (cleared if wallet accepts again)


@dataclass
class Device:
    registered_seq: int
    revoked_seq: int | None = None


@dataclass
class Edge:
    referrer: str
    code: str
    accepted_seq: int
    accepted_at: str
    activated_seq: int | None = None
    activated_at: str | None = None


@dataclass(frozen=True)
class Award:
    seq: int
    wallet: str
    points: int
    reason: str
    rule_version: int
    source_event_id: str
    source_seq: int | None


@dataclass
class Balance:
    balance: int = 0
    award_count: int = 0
    last_seq: int = -1


@dataclass
class TrustState:
    accounts: dict[str, Account] = field(default_factory=dict)
    links: dict[tuple[str, str], Link] = field(default_factory=dict)
    neighbors: dict[str, set[str]] = field(default_factory=dict)
    devices: dict[tuple[str, str], Device] = field(default_factory=dict)
    devices_of: dict[str, set[str]] = field(default_factory=dict)
    edges: dict[str, Edge] = field(default_factory=dict)
    children: dict[str, set[str]] = field(default_factory=dict)
    awards: dict[int, Award] = field(default_factory=dict)
    balances: dict[str, Balance] = field(default_factory=dict)

    # -- loading (live projection) ---------------------------------------------------------------
    def put_link(self, wallet: str, peer: str, link: Link) -> None:
        self.links[(wallet, peer)] = link
        self.neighbors.setdefault(wallet, set()).add(peer)
        self.neighbors.setdefault(peer, set()).add(wallet)

    def put_device(self, wallet: str, device_id: str, device: Device) -> None:
        self.devices[(wallet, device_id)] = device
        self.devices_of.setdefault(wallet, set()).add(device_id)

    def put_edge(self, invitee: str, edge: Edge) -> None:
        self.edges[invitee] = edge
        self.children.setdefault(edge.referrer, set()).add(invitee)

    # -- facts -------------------------------------------------------------------------------------
    def facts(self, wallet: str) -> Facts | None:
        account = self.accounts.get(wallet)
        if account is None:
            return None
        reciprocal: dict[str, tuple[int, ...]] = {}
        blocked_by: dict[str, int] = {}
        for peer in self.neighbors.get(wallet, ()):
            out = self.links.get((wallet, peer))
            back = self.links.get((peer, wallet))
            if back is not None and back.blocked_seq is not None:
                blocked_by[peer] = back.blocked_seq
            if (
                out is not None
                and back is not None
                and out.sent_seq is not None
                and back.sent_seq is not None
                and out.accepted_seq is not None
                and out.blocked_seq is None
                and back.blocked_seq is None
            ):
                reciprocal[peer] = tuple(sorted({out.sent_seq, back.sent_seq, out.accepted_seq}))
        activated = {
            invitee: edge.activated_seq
            for invitee in self.children.get(wallet, ())
            if (edge := self.edges[invitee]).activated_seq is not None
        }
        devices = {
            device_id: dev.registered_seq
            for device_id in self.devices_of.get(wallet, ())
            if (dev := self.devices[(wallet, device_id)]).revoked_seq is None
        }
        return Facts(
            registered_seq=account.registered_seq,
            registered_at=account.registered_at,
            as_of_seq=account.as_of_seq,
            as_of_at=account.as_of_at,
            reciprocal_peers=reciprocal,
            activated_referrals=activated,
            active_devices=devices,
            blocked_by=blocked_by,
        )

    def breakdown(self, wallet: str) -> Breakdown | None:
        facts = self.facts(wallet)
        return compute(facts) if facts is not None else None


@dataclass
class Changes:
    """Keys whose rows the last :meth:`TrustEngine.apply` created or changed."""

    accounts: set[str] = field(default_factory=set)
    links: set[tuple[str, str]] = field(default_factory=set)
    devices: set[tuple[str, str]] = field(default_factory=set)
    edges: set[str] = field(default_factory=set)
    awards: list[int] = field(default_factory=list)
    balances: set[str] = field(default_factory=set)


def touched_wallets(entry: EntryLike) -> set[str]:
    wallets = set()
    if entry.actor != SYSTEM_ACTOR:
        wallets.add(entry.actor)
    payload = entry.payload
    for key in _WALLET_KEYS:
        value = payload.get(key)
        if isinstance(value, str) and value:
            wallets.add(value)
    return wallets


def award_sources(entries: Iterable[EntryLike]) -> set[str]:
    """Event ids that POINTS_AWARDED entries in ``entries`` point at (for pre-resolving their seqs)."""
    return {
        str(e.payload.get("source_event_id"))
        for e in entries
        if e.event_type == "POINTS_AWARDED" and e.actor == SYSTEM_ACTOR
    }


class TrustEngine:
    """Applies ledger entries, in ``seq`` order, to a :class:`TrustState`."""

    def __init__(self, state: TrustState, resolve_seq: Callable[[str], int | None] | None = None) -> None:
        self.state = state
        # event_id -> seq, for naming an award's cause; replay fills it as it goes.
        self.event_seqs: dict[str, int] = {}
        self._resolve = resolve_seq
        self._pending: dict[str, tuple[int, str]] = {}  # wallet -> its last touching (seq, timestamp)
        self._changes = Changes()
        self._handlers: dict[str, Callable[[EntryLike, Changes], None]] = {
            "USER_REGISTERED": self._registered,
            "REFERRAL_ACCEPTED": self._referral_accepted,
            "REFERRAL_ACTIVATED": self._referral_activated,
            "POINTS_AWARDED": self._points_awarded,
            "DEVICE_REGISTERED": self._device_registered,
            "DEVICE_REVOKED": self._device_revoked,
            "CONVERSATION_STATE_CHANGED": self._conversation_state,
            "MESSAGE_SENT": self._message_sent,
        }

    def _source_seq(self, event_id: str) -> int | None:
        seq = self.event_seqs.get(event_id)
        if seq is None and self._resolve is not None:
            seq = self._resolve(event_id)
        return seq

    def apply(self, entries: Iterable[EntryLike], *, flush: bool = True) -> Changes:
        """Apply entries in seq order; with ``flush`` (the live path) rescore touched wallets now.

        Replay passes ``flush=False`` page after page and calls :meth:`flush` once at the end: the
        result is the same (scores depend only on each wallet's last touching entry), and every
        wallet is scored once instead of once per page.
        """
        changes = self._changes
        pending = self._pending
        handlers = self._handlers
        event_seqs = self.event_seqs
        for entry in entries:
            event_seqs[entry.event_id] = entry.seq
            handler = handlers.get(entry.event_type)
            if handler is not None:
                handler(entry, changes)
            at = (entry.seq, entry.timestamp)
            if entry.actor != SYSTEM_ACTOR:
                pending[entry.actor] = at
            payload = entry.payload
            for key in _WALLET_KEYS:
                value = payload.get(key)
                if value and isinstance(value, str):
                    pending[value] = at
        if flush:
            return self.flush()
        return changes

    def flush(self) -> Changes:
        """Rescore every wallet touched since the last flush; returns (and resets) what changed."""
        changes = self._changes
        accounts = self.state.accounts
        for wallet, (seq, ts) in self._pending.items():
            account = accounts.get(wallet)
            if account is None:
                continue
            account.as_of_seq, account.as_of_at = seq, ts
            result = self.state.breakdown(wallet)
            assert result is not None  # noqa: S101 - the account exists, so facts do
            account.score, account.trust_level = result.score, result.trust_level
            account.formula_version = result.formula_version
            changes.accounts.add(wallet)
        self._pending = {}
        self._changes = Changes()
        return changes

    # -- handlers ----------------------------------------------------------------------------------
    def _registered(self, e: EntryLike, ch: Changes) -> None:
        if e.actor not in self.state.accounts and e.actor != SYSTEM_ACTOR:
            self.state.accounts[e.actor] = Account(e.seq, e.timestamp, e.seq, e.timestamp)
            ch.accounts.add(e.actor)

    def _referral_accepted(self, e: EntryLike, ch: Changes) -> None:
        invitee, referrer = e.payload.get("invitee"), e.payload.get("referrer")
        if not isinstance(invitee, str) or not isinstance(referrer, str) or invitee == referrer:
            return
        if invitee in self.state.edges:  # one referrer per account, first one wins, immutable
            return
        self.state.put_edge(invitee, Edge(referrer, str(e.payload.get("code", "")), e.seq, e.timestamp))
        ch.edges.add(invitee)

    def _referral_activated(self, e: EntryLike, ch: Changes) -> None:
        invitee = e.payload.get("invitee")
        edge = self.state.edges.get(invitee) if isinstance(invitee, str) else None
        if edge is None or edge.activated_seq is not None or edge.referrer != e.payload.get("referrer"):
            return
        edge.activated_seq, edge.activated_at = e.seq, e.timestamp
        ch.edges.add(str(invitee))

    def _points_awarded(self, e: EntryLike, ch: Changes) -> None:
        if e.actor != SYSTEM_ACTOR:  # only the server awards points
            return
        p = e.payload
        wallet, points = p.get("wallet"), p.get("points")
        if not isinstance(wallet, str) or not isinstance(points, int) or isinstance(points, bool):
            return
        source = str(p.get("source_event_id", ""))
        version = p.get("rule_version")
        award = Award(
            e.seq,
            wallet,
            points,
            str(p.get("reason", "")),
            version if isinstance(version, int) else 0,
            source,
            self._source_seq(source),
        )
        self.state.awards[e.seq] = award
        ch.awards.append(e.seq)
        balance = self.state.balances.setdefault(wallet, Balance())
        balance.balance += points
        balance.award_count += 1
        balance.last_seq = e.seq
        ch.balances.add(wallet)

    def _device_registered(self, e: EntryLike, ch: Changes) -> None:
        device_id = e.payload.get("device_id")
        if not isinstance(device_id, str):
            return
        key = (e.actor, device_id)
        current = self.state.devices.get(key)
        if current is not None and current.revoked_seq is None:
            return  # re-publishing an active device keeps its first registration
        self.state.put_device(e.actor, device_id, Device(e.seq))
        ch.devices.add(key)

    def _device_revoked(self, e: EntryLike, ch: Changes) -> None:
        key = (e.actor, str(e.payload.get("device_id")))
        current = self.state.devices.get(key)
        if current is not None and current.revoked_seq is None:
            current.revoked_seq = e.seq
            ch.devices.add(key)

    def _link(self, wallet: str, peer: str, ch: Changes) -> Link:
        key = (wallet, peer)
        link = self.state.links.get(key)
        if link is None:
            link = Link()
            self.state.put_link(wallet, peer, link)
        ch.links.add(key)
        return link

    def _conversation_state(self, e: EntryLike, ch: Changes) -> None:
        peer, state = e.payload.get("peer"), e.payload.get("state")
        if not isinstance(peer, str) or peer == e.actor:
            return
        if state == "accepted":
            out = self._link(e.actor, peer, ch)
            back = self._link(peer, e.actor, ch)
            if out.accepted_seq is None:
                out.accepted_seq = e.seq
            if back.accepted_seq is None:
                back.accepted_seq = e.seq
            out.blocked_seq = None
        elif state == "blocked":
            out = self._link(e.actor, peer, ch)
            if out.blocked_seq is None:
                out.blocked_seq = e.seq

    def _message_sent(self, e: EntryLike, ch: Changes) -> None:
        peer = e.payload.get("peer")
        if not isinstance(peer, str) or peer == e.actor:
            return
        link = self.state.links.get((e.actor, peer))
        if link is not None and link.sent_seq is not None:
            return  # only the first message counts; keep the hot path write-free
        self._link(e.actor, peer, ch).sent_seq = e.seq


# -- rows: the one serialisation shared by the live tables and replay ------------------------------

def account_row(wallet: str, a: Account) -> dict[str, Any]:
    return {
        "wallet": wallet,
        "registered_seq": a.registered_seq,
        "registered_at": a.registered_at,
        "as_of_seq": a.as_of_seq,
        "as_of_at": a.as_of_at,
        "score": a.score,
        "trust_level": a.trust_level,
        "formula_version": a.formula_version,
    }


def link_row(key: tuple[str, str], link: Link) -> dict[str, Any]:
    return {
        "wallet": key[0],
        "peer": key[1],
        "sent_seq": link.sent_seq,
        "accepted_seq": link.accepted_seq,
        "blocked_seq": link.blocked_seq,
    }


def device_row(key: tuple[str, str], d: Device) -> dict[str, Any]:
    return {"wallet": key[0], "device_id": key[1], "registered_seq": d.registered_seq, "revoked_seq": d.revoked_seq}


def edge_row(invitee: str, e: Edge) -> dict[str, Any]:
    return {
        "invitee": invitee,
        "referrer": e.referrer,
        "code": e.code,
        "accepted_seq": e.accepted_seq,
        "accepted_at": e.accepted_at,
        "activated_seq": e.activated_seq,
        "activated_at": e.activated_at,
    }


def award_row(a: Award) -> dict[str, Any]:
    return {
        "seq": a.seq,
        "wallet": a.wallet,
        "points": a.points,
        "reason": a.reason,
        "rule_version": a.rule_version,
        "source_event_id": a.source_event_id,
        "source_seq": a.source_seq,
    }


def balance_row(wallet: str, b: Balance) -> dict[str, Any]:
    return {"wallet": wallet, "balance": b.balance, "award_count": b.award_count, "last_seq": b.last_seq}


def all_rows(state: TrustState) -> dict[str, dict[tuple[Any, ...], dict[str, Any]]]:
    """Every projection row of ``state`` keyed by table name, then primary key."""
    return {
        "coherence_scores": {(w,): account_row(w, a) for w, a in state.accounts.items()},
        "coherence_links": {k: link_row(k, v) for k, v in state.links.items()},
        "coherence_devices": {k: device_row(k, v) for k, v in state.devices.items()},
        "referral_edges": {(i,): edge_row(i, e) for i, e in state.edges.items()},
        "points_awards": {(s,): award_row(a) for s, a in state.awards.items()},
        "points_balances": {(w,): balance_row(w, b) for w, b in state.balances.items()},
    }


def state_from_rows(
    *,
    accounts: Iterable[Mapping[str, Any]] = (),
    links: Iterable[Mapping[str, Any]] = (),
    devices: Iterable[Mapping[str, Any]] = (),
    edges: Iterable[Mapping[str, Any]] = (),
    balances: Iterable[Mapping[str, Any]] = (),
) -> TrustState:
    """Rebuild the part of the state a batch needs from stored projection rows."""
    state = TrustState()
    for r in accounts:
        state.accounts[r["wallet"]] = Account(
            r["registered_seq"],
            r["registered_at"],
            r["as_of_seq"],
            r["as_of_at"],
            r["score"],
            r["trust_level"],
            r["formula_version"],
        )
    for r in links:
        state.put_link(r["wallet"], r["peer"], Link(r["sent_seq"], r["accepted_seq"], r["blocked_seq"]))
    for r in devices:
        state.put_device(r["wallet"], r["device_id"], Device(r["registered_seq"], r["revoked_seq"]))
    for r in edges:
        state.put_edge(
            r["invitee"],
            Edge(r["referrer"], r["code"], r["accepted_seq"], r["accepted_at"], r["activated_seq"], r["activated_at"]),
        )
    for r in balances:
        state.balances[r["wallet"]] = Balance(r["balance"], r["award_count"], r["last_seq"])
    return state


def changed_rows(state: TrustState, changes: Changes) -> dict[str, list[dict[str, Any]]]:
    """The rows to upsert after :meth:`TrustEngine.apply` (awards are insert-only)."""
    return {
        "coherence_scores": [account_row(w, state.accounts[w]) for w in sorted(changes.accounts)],
        "coherence_links": [link_row(k, state.links[k]) for k in sorted(changes.links)],
        "coherence_devices": [device_row(k, state.devices[k]) for k in sorted(changes.devices)],
        "referral_edges": [edge_row(i, state.edges[i]) for i in sorted(changes.edges)],
        "points_awards": [award_row(state.awards[s]) for s in changes.awards],
        "points_balances": [balance_row(w, state.balances[w]) for w in sorted(changes.balances)],
    }


def batch_wallets(entries: Iterable[EntryLike]) -> set[str]:
    wallets: set[str] = set()
    for entry in entries:
        wallets |= touched_wallets(entry)
    return wallets
