"""Device registry: public keys, wallet bindings and prekeys of E2E devices (never private keys)."""
