"""Profile and avatar errors, each with its stable ``code``."""

from __future__ import annotations

from atlas.errors import NotFound, PayloadTooLarge, Unprocessable, UnsupportedMediaType


class UserNotFound(NotFound):
    code = "user_not_found"


class AvatarNotFound(NotFound):
    code = "avatar_not_found"


class WalletInvalid(Unprocessable):
    code = "wallet_invalid"


class DisplayNameInvalid(Unprocessable):
    code = "display_name_invalid"


class BioInvalid(Unprocessable):
    code = "bio_invalid"


class ImageUnsupported(UnsupportedMediaType):
    code = "unsupported_media_type"


class ImageTooLarge(PayloadTooLarge):
    code = "image_too_large"


class ImageInvalid(Unprocessable):
    code = "image_invalid"
