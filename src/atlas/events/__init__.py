"""Typed domain events, the transactional outbox, and the buses that carry events to the ledger."""
