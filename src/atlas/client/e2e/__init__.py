"""ATLAS E2E v1: device keys bound to the wallet, X3DH and the Double Ratchet (docs/protocol.md)."""
