"""The coherence score, formula version 1: a pure, integer-only function of ledger facts.

docs/coherence.md is the human-readable copy of the constants below; changing any of them means a new
``FORMULA_VERSION``. Every input is a ledger fact carrying the ``seq`` of the entry behind it, so the
explain endpoint can show exactly which entries produced each term.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from atlas.kit.clock import parse_rfc3339

FORMULA_VERSION = 1
MAX_SCORE = 10_000

AGE_POINTS_PER_DAY = 25
AGE_MAX_DAYS = 120  # → 3000
RECIPROCITY_POINTS_PER_PEER = 400
RECIPROCITY_MAX_PEERS = 10  # → 4000
REFERRAL_POINTS_EACH = 300
REFERRAL_MAX = 5  # → 1500
DEVICE_POINTS_EACH = 750
DEVICE_MAX = 2  # → 1500
BLOCK_PENALTY_EACH = 1000
BLOCK_PENALTY_MAX_PEERS = 10  # → up to −10000

# (minimum score, level), highest first.
TRUST_LEVELS: tuple[tuple[int, str], ...] = (
    (8000, "AUTHORITY"),
    (4000, "TRUSTED"),
    (1000, "VERIFIED"),
    (0, "UNKNOWN"),
)

SECONDS_PER_DAY = 86_400


def trust_level(score: int) -> str:
    for minimum, level in TRUST_LEVELS:
        if score >= minimum:
            return level
    return "UNKNOWN"


@dataclass(frozen=True)
class Facts:
    """What the ledger says about one wallet, up to (and including) ``as_of_seq``."""

    registered_seq: int
    registered_at: str  # RFC 3339 timestamp of the USER_REGISTERED entry
    as_of_seq: int
    as_of_at: str  # timestamp of the as_of entry: the score's "now", so replay is exact
    # Each reciprocal peer with the seqs that establish it (both first messages and the acceptance).
    reciprocal_peers: dict[str, tuple[int, ...]] = field(default_factory=dict)
    activated_referrals: dict[str, int] = field(default_factory=dict)  # invitee -> activation seq
    active_devices: dict[str, int] = field(default_factory=dict)  # device id -> registration seq
    blocked_by: dict[str, int] = field(default_factory=dict)  # blocking peer -> block seq


@dataclass(frozen=True)
class Term:
    name: str
    value: int  # signed contribution to the score
    count: int  # how many facts the term counted (before the cap)
    cap: int  # the largest |value| the term can reach
    seqs: tuple[int, ...]  # the ledger entries behind it, ascending


@dataclass(frozen=True)
class Breakdown:
    score: int
    trust_level: str
    formula_version: int
    as_of_seq: int
    terms: tuple[Term, ...]


def age_days(registered_at: str, as_of_at: str) -> int:
    delta = parse_rfc3339(as_of_at) - parse_rfc3339(registered_at)
    seconds = delta.days * SECONDS_PER_DAY + delta.seconds
    return max(0, seconds // SECONDS_PER_DAY)


def compute(facts: Facts) -> Breakdown:
    days = age_days(facts.registered_at, facts.as_of_at)
    age = Term(
        "account_age",
        min(days, AGE_MAX_DAYS) * AGE_POINTS_PER_DAY,
        days,
        AGE_MAX_DAYS * AGE_POINTS_PER_DAY,
        tuple(sorted({facts.registered_seq, facts.as_of_seq})),
    )
    peers = len(facts.reciprocal_peers)
    reciprocity = Term(
        "reciprocity",
        min(peers, RECIPROCITY_MAX_PEERS) * RECIPROCITY_POINTS_PER_PEER,
        peers,
        RECIPROCITY_MAX_PEERS * RECIPROCITY_POINTS_PER_PEER,
        tuple(sorted({s for seqs in facts.reciprocal_peers.values() for s in seqs})),
    )
    refs = len(facts.activated_referrals)
    referrals = Term(
        "activated_referrals",
        min(refs, REFERRAL_MAX) * REFERRAL_POINTS_EACH,
        refs,
        REFERRAL_MAX * REFERRAL_POINTS_EACH,
        tuple(sorted(facts.activated_referrals.values())),
    )
    devs = len(facts.active_devices)
    devices = Term(
        "device_keys",
        min(devs, DEVICE_MAX) * DEVICE_POINTS_EACH,
        devs,
        DEVICE_MAX * DEVICE_POINTS_EACH,
        tuple(sorted(facts.active_devices.values())),
    )
    blocks = len(facts.blocked_by)
    penalty = Term(
        "blocks_received",
        -min(blocks, BLOCK_PENALTY_MAX_PEERS) * BLOCK_PENALTY_EACH,
        blocks,
        BLOCK_PENALTY_MAX_PEERS * BLOCK_PENALTY_EACH,
        tuple(sorted(facts.blocked_by.values())),
    )
    terms = (age, reciprocity, referrals, devices, penalty)
    score = max(0, min(MAX_SCORE, sum(t.value for t in terms)))
    return Breakdown(score, trust_level(score), FORMULA_VERSION, facts.as_of_seq, terms)
