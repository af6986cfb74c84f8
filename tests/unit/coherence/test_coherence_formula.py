from __future__ import annotations

import pytest

from atlas.coherence.formula import FORMULA_VERSION, Facts, age_days, compute, trust_level


def _facts(**kw: object) -> Facts:
    base: dict[str, object] = {
        "registered_seq": 3,
        "registered_at": "2026-01-01T00:00:00.000Z",
        "as_of_seq": 9,
        "as_of_at": "2026-01-01T00:00:00.000Z",
    }
    base.update(kw)
    return Facts(**base)  # type: ignore[arg-type]  # test helper with loose kwargs


def test_fresh_account_scores_zero() -> None:
    b = compute(_facts())
    assert (b.score, b.trust_level, b.formula_version, b.as_of_seq) == (0, "UNKNOWN", FORMULA_VERSION, 9)
    assert [t.name for t in b.terms] == [
        "account_age",
        "reciprocity",
        "activated_referrals",
        "device_keys",
        "blocks_received",
    ]
    assert b.terms[0].seqs == (3, 9)


def test_age_in_whole_ledger_days() -> None:
    assert age_days("2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z") == 1
    assert age_days("2026-01-01T00:00:00.000Z", "2026-01-01T23:59:59.999Z") == 0
    assert age_days("2026-01-02T00:00:00.000Z", "2026-01-01T00:00:00.000Z") == 0
    b = compute(_facts(as_of_at="2026-02-01T00:00:00.000Z"))
    assert b.score == 31 * 25
    b = compute(_facts(as_of_at="2027-02-01T00:00:00.000Z"))
    assert b.terms[0].value == 3000
    assert b.terms[0].count == 396


def test_terms_are_capped_and_integer() -> None:
    b = compute(
        _facts(
            as_of_at="2027-01-01T00:00:00.000Z",
            reciprocal_peers={f"p{i}": (i, i + 1, i + 2) for i in range(30)},
            activated_referrals={f"i{i}": 100 + i for i in range(9)},
            active_devices={"d1": 5, "d2": 6, "d3": 7},
        )
    )
    assert b.score == 10_000
    assert b.trust_level == "AUTHORITY"
    assert all(isinstance(t.value, int) for t in b.terms)
    assert b.terms[1].value == 4000
    assert b.terms[1].count == 30
    assert b.terms[2].seqs == tuple(range(100, 109))


def test_blocks_penalise_and_floor_at_zero() -> None:
    b = compute(_facts(active_devices={"d": 4}, blocked_by={"x": 20, "y": 21}))
    assert b.terms[-1].value == -2000
    assert b.score == 0


@pytest.mark.parametrize(
    ("score", "level"),
    [(0, "UNKNOWN"), (999, "UNKNOWN"), (1000, "VERIFIED"), (3999, "VERIFIED"), (4000, "TRUSTED"), (8000, "AUTHORITY")],
)
def test_trust_levels(score: int, level: str) -> None:
    assert trust_level(score) == level
