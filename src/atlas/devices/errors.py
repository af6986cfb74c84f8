"""Device-registry errors, each with a stable ``code``."""

from __future__ import annotations

from atlas.errors import BadRequest, Conflict, Forbidden, NotFound, RetryLater, Unprocessable


class BindingInvalid(BadRequest):
    code = "binding_invalid"
    title = "The wallet binding signature does not verify for this account"


class SignedPrekeyInvalid(BadRequest):
    code = "signed_prekey_invalid"
    title = "The signed prekey's signature does not verify with the device's signing key"


class InvalidKey(Unprocessable):
    code = "invalid_key"


class InvalidDeviceId(Unprocessable):
    code = "invalid_device_id"


class DeviceLimitReached(Conflict):
    code = "device_limit_reached"


class DeviceRevokedError(Conflict):
    code = "device_revoked"


class PrekeyConflict(Conflict):
    code = "prekey_id_conflict"


class TooManyPrekeys(Conflict):
    code = "too_many_prekeys"


class NotDeviceOwner(Forbidden):
    code = "not_device_owner"


class DeviceNotFound(NotFound):
    code = "device_not_found"


class BundleRateLimited(RetryLater):
    code = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after, what="prekey-bundle requests")
