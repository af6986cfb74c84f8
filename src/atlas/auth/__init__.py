"""Wallet sign-in (EIP-4361 / CAIP-122), sessions with rotating refresh tokens, rate limits."""
