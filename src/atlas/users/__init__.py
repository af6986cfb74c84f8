"""Accounts: registration at first sign-in, profiles."""
