"""The ledger's domain errors, each with a stable ``code`` (CONTRACT §2)."""

from __future__ import annotations

from atlas.errors import AtlasError, BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unprocessable


class EntryNotFound(NotFound):
    code = "entry_not_found"


class EventNotFound(NotFound):
    code = "event_not_found"


class EventDeadLettered(Conflict):
    """Acknowledged, but the ledger refused it after every retry: it will not land unless an
    operator fixes the cause and redrives it (``atlas events redrive``)."""

    code = "event_dead_lettered"


class ProofRangeError(BadRequest):
    code = "proof_out_of_range"


class EventTypeForbidden(Forbidden):
    code = "event_type_forbidden"


class EventTypeUnknown(Unprocessable):
    code = "event_type_unknown"


class LogPayloadTooLarge(PayloadTooLarge):
    code = "payload_too_large"


class PayloadInvalid(Unprocessable):
    code = "payload_invalid"


class NoCheckpoint(AtlasError):
    status = 503
    code = "checkpoint_unavailable"
