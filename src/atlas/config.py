"""Settings for one ATLAS process, read from ``ATLAS_*`` variables (CONTRACT §1).

Secrets that are not supplied are generated once into ``ATLAS_DATA_DIR`` so that ``make run`` works
on a fresh machine; ``prod`` refuses to start on any of those conveniences.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MiB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ATLAS_", extra="ignore", populate_by_name=True)

    env: Literal["dev", "staging", "prod"] = "dev"
    data_dir: Path = Path("./var")
    database_url: str | None = None
    redis_url: str | None = None
    # Prefix of every Redis key this deployment uses (lets tests and tenants share one server).
    redis_namespace: str = "atlas"
    public_url: str = "http://127.0.0.1:8000"
    chain_ids: Annotated[tuple[int, ...], NoDecode] = (1,)
    secret_key: SecretStr | None = None
    log_key: SecretStr | None = None
    log_origin: str | None = None
    rate_auth: str = "60/minute"
    evm_rpc_url: str | None = None
    max_body_bytes: int = 1 * MiB
    log_level: str = "INFO"
    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    challenge_ttl_seconds: int = 5 * 60
    checkpoint_interval_seconds: float = 1.0
    sentry_dsn: str | None = Field(default=None, validation_alias="SENTRY_DSN")
    # Failed referral-code lookups allowed per client address (GET /v1/referrals/{code}).
    rate_referral_lookup: str = "30/minute"
    # Prekey-bundle fetches per client address (GET …/prekey-bundle is public).
    rate_prekey_bundle: str = "300/minute"
    # One-time prekeys a device hands out per window; past it, bundles carry the signed prekey only
    # (X3DH still works), so nobody can drain a device's one-time prekeys by fetching bundles.
    rate_one_time_prekeys: str = "30/hour"
    # Seconds a process may serve a rendered public profile from memory (0 disables the cache).
    profile_cache_seconds: float = 0.5
    # Event bridge (atlas.events): outbox relay, ledger subscriber, projection feed.
    events_batch_size: int = 500
    events_poll_seconds: float = 0.25  # relay fallback poll when no commit hook woke it
    events_relay_linger_seconds: float = 0.02  # after a commit wakes the relay, gather more this long
    events_projection_linger_seconds: float = 0.2  # after a partial batch, a projection gathers more this long
    events_max_deliveries: int = 5  # failed deliveries of one event before it is dead-lettered
    events_claim_idle_ms: int = 30_000  # pending entries idle this long are claimed by the subscriber
    events_redeliver_seconds: float = 30.0  # republish rows published this long ago but not in the ledger
    events_outbox_retention_seconds: int = 24 * 3600  # delivered outbox rows are pruned after this
    events_ledger_stream_maxlen: int = 100_000  # ledger-stream length kept (replays older read the ledger)
    events_lease_ms: int = 5_000  # ledger-subscriber leadership lease across processes
    # --- auth (appended) ---
    # CAIP-2 references of the Solana clusters accepted at sign-in (ATLAS_SOLANA_CHAINS, comma-separated;
    # empty disables Solana sign-in). Default: mainnet-beta's genesis-hash reference.
    solana_chains: Annotated[tuple[str, ...], NoDecode] = ("5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp",)
    # Tolerated client/server clock difference for a sign-in message's Issued At / Not Before.
    auth_clock_skew_seconds: int = 60

    @field_validator("solana_chains", mode="before")
    @classmethod
    def _split_solana_chains(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(p.strip() for p in value.split(",") if p.strip())
        return value

    # Chat (ATLAS_CHAT_*): envelope limits, stranger-request budget, socket queues.
    chat_max_envelope_bytes: int = 256 * 1024
    chat_max_payload_devices: int = 20
    chat_requests_per_hour: int = 20
    chat_send_queue: int = 1024
    chat_writer_lanes: int = 1  # concurrent chat write transactions (PostgreSQL only; SQLite has one writer)
    chat_auth_timeout_seconds: float = 10.0
    chat_typing_ttl_seconds: int = 5
    # How often each process re-checks the sessions behind its open sockets (logout closes them).
    chat_session_check_seconds: float = 5.0

    @field_validator("chain_ids", mode="before")
    @classmethod
    def _split_chain_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            return tuple(int(p) for p in parts)
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("ATLAS_PUBLIC_URL must be an absolute http(s) URL")
        return value.rstrip("/")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'atlas.db').as_posix()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def public_authority(self) -> str:
        """Host, and port when not the scheme's default: the SIWE ``domain``."""
        parts = urlsplit(self.public_url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        default = {"http": 80, "https": 443}[parts.scheme]
        if parts.port and parts.port != default:
            return f"{host}:{parts.port}"
        return host

    @property
    def public_scheme(self) -> str:
        return urlsplit(self.public_url).scheme

    @property
    def resolved_log_origin(self) -> str:
        return self.log_origin or f"{self.public_authority}/genesis"


@dataclass(frozen=True)
class Secrets:
    """Secret material resolved from the environment or from ``ATLAS_DATA_DIR``."""

    secret_key: bytes
    log_seed: bytes
    generated: frozenset[str] = field(default_factory=frozenset)


def _load_or_create(path: Path, make: bytes) -> tuple[bytes, bool]:
    if path.exists():
        return path.read_bytes().strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: two processes starting together agree on whichever file landed first.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip(), False
    with os.fdopen(fd, "wb") as fh:
        fh.write(make)
    return make, True


def resolve_secrets(settings: Settings) -> Secrets:
    generated: set[str] = set()
    if settings.secret_key is not None:
        secret = settings.secret_key.get_secret_value().encode()
    else:
        secret, _ = _load_or_create(
            settings.data_dir / "secret_key", base64.b64encode(secrets.token_bytes(32))
        )
        generated.add("ATLAS_SECRET_KEY")
    if settings.log_key is not None:
        seed_b64 = settings.log_key.get_secret_value().encode()
    else:
        seed_b64, _ = _load_or_create(
            settings.data_dir / "log_key", base64.b64encode(secrets.token_bytes(32))
        )
        generated.add("ATLAS_LOG_KEY")
    seed = base64.b64decode(seed_b64, validate=True)
    if len(seed) != 32:
        raise ValueError("ATLAS_LOG_KEY must be base64 of a 32-byte Ed25519 seed")
    return Secrets(secret_key=secret, log_seed=seed, generated=frozenset(generated))


def insecure_settings(settings: Settings) -> list[str]:
    """Every setting that a production deployment must not run with, named."""
    problems: list[str] = []
    if settings.secret_key is None:
        problems.append("ATLAS_SECRET_KEY is not set (a generated secret is for development only)")
    elif len(settings.secret_key.get_secret_value()) < 32:
        problems.append("ATLAS_SECRET_KEY is shorter than 32 characters")
    if settings.log_key is None:
        problems.append("ATLAS_LOG_KEY is not set (a generated ledger key is for development only)")
    if settings.is_sqlite:
        problems.append("ATLAS_DATABASE_URL points at SQLite; production needs PostgreSQL")
    if settings.public_scheme != "https":
        problems.append("ATLAS_PUBLIC_URL is plain http; production needs https")
    return problems


@lru_cache
def get_settings() -> Settings:
    return Settings()
