"""PostgreSQL-only chat statements: a write batch's sends in one statement, its receipts in another.

The writer's unlocked path (chat/fastpath.py) runs them outside an explicit transaction (PostgreSQL
makes one statement atomic by itself), so a batch costs one round trip instead of BEGIN, reads,
writes and COMMIT; the locked path (chat/store.py) runs the same statements inside its transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from atlas.chat.repository import MESSAGE_COLUMNS, PAYLOAD_COLUMNS
from atlas.events.outbox import pg_gated_insert

# A compare-and-set over conversation heads, then everything that depends on it. ``upd`` advances a
# conversation only if its head (last_seq) and state are still what the batch was checked against;
# the messages, payloads and outbox events of a conversation are written only if its head advanced.
# A conversation that another writer (another process, a state change) touched meanwhile is left
# alone, and the caller retries it under a lock. A head that did not move means no message was added
# since it was read, so the seqs are free; a client message id stored before that (a resend) fails
# the whole statement on the unique index, which the caller takes as "use the transactional path".
# (Checking for it here instead, with NOT EXISTS over chat_messages, left the plan to the table's
# statistics: on a young table the cached generic plan scanned it, 40 ms per batch at 50k rows.)
_STORE_HEAD = """
WITH u AS (
  SELECT * FROM unnest(CAST(:c_id AS varchar[]), CAST(:c_expect AS integer[]), CAST(:c_state AS varchar[]),
                       CAST(:c_seq AS integer[]), CAST(:c_at AS bigint[])) AS u(id, expect, state, last_seq, at)
), upd AS (
  UPDATE chat_conversations AS c SET last_seq = u.last_seq, last_activity_ms = u.at
  FROM u
  WHERE c.id = u.id AND c.last_seq = u.expect AND c.state = u.state
  RETURNING c.id
), m AS (
  INSERT INTO chat_messages (conversation_id, seq, client_msg_id, sender, sender_device, server_ts_ms, size)
  SELECT * FROM unnest(CAST(:m_cid AS varchar[]), CAST(:m_seq AS integer[]), CAST(:m_cmid AS varchar[]),
                       CAST(:m_sender AS varchar[]), CAST(:m_device AS varchar[]), CAST(:m_ts AS bigint[]),
                       CAST(:m_size AS integer[])) AS r(cid, seq, cmid, sender, device, ts, size)
  WHERE r.cid IN (SELECT id FROM upd)
), p AS (
  INSERT INTO chat_payloads (device_id, conversation_id, seq, kind, body)
  SELECT * FROM unnest(CAST(:p_device AS varchar[]), CAST(:p_cid AS varchar[]), CAST(:p_seq AS integer[]),
                       CAST(:p_kind AS varchar[]), CAST(:p_body AS bytea[])) AS r(device, cid, seq, kind, body)
  WHERE r.cid IN (SELECT id FROM upd)
), o AS (
"""
_STORE_IF_UNCHANGED = text(
    _STORE_HEAD + pg_gated_insert("SELECT id FROM upd") + ")\nSELECT id FROM upd\n"  # noqa: S608 - constants only
)


async def store_if_unchanged(
    conn: AsyncConnection,
    message_rows: Sequence[tuple[Any, ...]],
    payload_rows: Sequence[tuple[Any, ...]],
    heads: Sequence[tuple[str, int, str, int, int]],
    outbox_params: dict[str, object],
) -> set[str]:
    """Write the batch for every conversation whose head is unchanged; returns those conversations.
    Raises IntegrityError (and writes nothing) if a client message id is already stored.

    Rows are in ``repository.MESSAGE_COLUMNS`` / ``PAYLOAD_COLUMNS`` order; ``heads`` are
    ``(conversation id, expected last_seq, expected state, new last_seq, activity ms)``;
    ``outbox_params`` come from ``events.outbox.pg_gated_params`` gated by conversation id.
    """
    m = [[row[i] for row in message_rows] for i in range(len(MESSAGE_COLUMNS))]
    p = [[row[i] for row in payload_rows] for i in range(len(PAYLOAD_COLUMNS))]
    h = [[row[i] for row in heads] for i in range(5)]
    result = await conn.execute(
        _STORE_IF_UNCHANGED,
        {
            "c_id": h[0], "c_expect": h[1], "c_state": h[2], "c_seq": h[3], "c_at": h[4],
            "m_cid": m[0], "m_seq": m[1], "m_cmid": m[2], "m_sender": m[3], "m_device": m[4], "m_ts": m[5],
            "m_size": m[6],
            "p_device": p[0], "p_cid": p[1], "p_seq": p[2], "p_kind": p[3], "p_body": p[4],
            **outbox_params,
        },
    )
    return {str(r.id) for r in result.all()}


# ``delivered`` receipts: the conversations they name, and each member device's cursor raised to
# min(up_to, last_seq) (never lowered), in one statement. A receipt from a non-member writes nothing;
# the caller tells it apart from the returned rows. Cursors are written in key order, like the
# transactional path, so concurrent writers lock them in the same order.
_RECEIPTS = text(
    """
WITH r AS (
  SELECT * FROM unnest(CAST(:r_device AS varchar[]), CAST(:r_cid AS varchar[]), CAST(:r_wallet AS varchar[]),
                       CAST(:r_up_to AS integer[])) AS r(device_id, cid, wallet, up_to)
), c AS (
  SELECT id, wallet_a, wallet_b, last_seq FROM chat_conversations WHERE id IN (SELECT cid FROM r)
), w AS (
  INSERT INTO chat_device_cursors (device_id, conversation_id, delivered_up_to)
  SELECT r.device_id, r.cid, max(LEAST(r.up_to, c.last_seq))
  FROM r JOIN c ON c.id = r.cid AND r.wallet IN (c.wallet_a, c.wallet_b)
  GROUP BY r.device_id, r.cid
  ORDER BY r.device_id, r.cid
  ON CONFLICT (device_id, conversation_id)
  DO UPDATE SET delivered_up_to = GREATEST(chat_device_cursors.delivered_up_to, excluded.delivered_up_to)
)
SELECT id, wallet_a, wallet_b, last_seq FROM c
"""
)


async def store_receipts(conn: AsyncConnection, receipts: Sequence[tuple[str, str, str, int]]) -> dict[str, Any]:
    """receipts: ``(device id, conversation id, wallet, up_to)``; returns the named conversations by id."""
    cols = [[r[i] for r in receipts] for i in range(4)]
    result = await conn.execute(
        _RECEIPTS, {"r_device": cols[0], "r_cid": cols[1], "r_wallet": cols[2], "r_up_to": cols[3]}
    )
    return {row.id: row for row in result.all()}
