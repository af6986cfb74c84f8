"""A small Python SDK for ATLAS: wallet sign-in and authenticated calls (used by tests and bots)."""

from atlas.client.auth import AtlasClient, AuthError, SignedIn, Tokens, sign_in, sign_in_solana

__all__ = ["AtlasClient", "AuthError", "SignedIn", "Tokens", "sign_in", "sign_in_solana"]
