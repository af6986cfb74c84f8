"""ATLAS x QFS: wallet-native E2E messenger and the QFS Genesis Ledger."""

__version__ = "0.1.0"
