"""One typed configuration, read from QBSYNC_* environment variables and `[qbsync]` in secrets."""

from __future__ import annotations

import os
import secrets as _secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlparse

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATA_DIR = Path("data")


class QboEnvironment(StrEnum):
    """Which QuickBooks the console talks to."""

    LOCAL = "local"
    SANDBOX = "sandbox"
    PRODUCTION = "production"


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Config:
    """Everything the console needs to know about where it runs."""

    database_url: str
    qbo_env: QboEnvironment = QboEnvironment.LOCAL
    qbo_base_url: str | None = None
    client_id: str = "qbsync-local"
    client_secret: str = field(default="qbsync-local-secret", repr=False)
    redirect_uri: str = "http://127.0.0.1:8501/Settings"
    secret_key: str = field(default="", repr=False)
    data_dir: Path = DEFAULT_DATA_DIR
    demo_invoices: int = 2000
    demo_companies: int = 1  # 2: the demo book split between a Carrier and a Brokerage QuickBooks company
    # The console starts the local sandbox and a worker thread itself (embedded default).
    background: bool = True
    # QuickBooks webhooks: the app's verifier token (empty = webhooks off); how often to poll CDC.
    webhook_verifier: str = field(default="", repr=False)
    pull_every_s: int = 900
    # With single sign-on: what a signed-in user who is not in the users table gets.
    unknown_users: str = "viewer"
    # With single sign-on: who becomes admin on first sign-in (bootstraps an empty users table).
    admin_emails: tuple[str, ...] = ()
    # A team deployment says sign-in is required: without a usable [auth] section nobody gets in,
    # instead of everyone being the local admin.
    require_sign_in: bool = False

    @property
    def is_embedded(self) -> bool:
        """True for the no-account default: local sandbox, console-run worker and sandbox."""
        return self.qbo_env is QboEnvironment.LOCAL


_KEYS = (
    "DATABASE_URL",
    "QBO_ENV",
    "QBO_BASE_URL",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "REDIRECT_URI",
    "SECRET_KEY",
    "DATA_DIR",
    "DEMO_INVOICES",
    "DEMO_COMPANIES",
    "BACKGROUND",
    "UNKNOWN_USERS",
    "ADMIN_EMAILS",
    "REQUIRE_SIGN_IN",
    "WEBHOOK_VERIFIER",
    "PULL_EVERY_S",
)


_ON = ("on", "true", "1")
_SWITCH = (*_ON, "off", "false", "0")


def read_secrets_file(path: Path) -> dict[str, str]:
    """The `[qbsync]` table of a secrets.toml, upper-cased; empty when the file is absent."""
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    section = data.get("qbsync", {})
    if not isinstance(section, Mapping):
        raise ConfigError(f"{path}: [qbsync] must be a table")
    return {str(k).upper(): str(v) for k, v in section.items()}


def load_config(
    environ: Mapping[str, str] | None = None,
    secrets: Mapping[str, str] | None = None,
) -> Config:
    """Build the Config; environment wins over secrets; a bad value names its variable."""
    environ = os.environ if environ is None else environ
    if secrets is None:
        secrets = read_secrets_file(Path(".streamlit") / "secrets.toml")
    raw: dict[str, str] = {}
    for key in _KEYS:
        value = environ.get(f"QBSYNC_{key}", secrets.get(key))
        if value not in (None, ""):
            raw[key] = str(value)

    data_dir = Path(raw.get("DATA_DIR", str(DEFAULT_DATA_DIR)))
    database_url = raw.get("DATABASE_URL") or f"sqlite:///{data_dir / 'qbsync.db'}"
    try:
        make_url(database_url)
    except ArgumentError as exc:
        raise ConfigError(f"QBSYNC_DATABASE_URL is not a database URL: {exc}") from exc

    try:
        qbo_env = QboEnvironment(raw.get("QBO_ENV", "local").lower())
    except ValueError:
        allowed = ", ".join(e.value for e in QboEnvironment)
        raise ConfigError(f"QBSYNC_QBO_ENV must be one of {allowed}; got {raw['QBO_ENV']!r}") from None

    base_url = raw.get("QBO_BASE_URL")
    if base_url:
        parsed = urlparse(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigError(f"QBSYNC_QBO_BASE_URL must be an http(s) URL; got {base_url!r}")
        base_url = base_url.rstrip("/")

    if qbo_env is not QboEnvironment.LOCAL:
        for key in ("CLIENT_ID", "CLIENT_SECRET", "REDIRECT_URI"):
            if key not in raw:
                raise ConfigError(f"QBSYNC_{key} is required when QBSYNC_QBO_ENV={qbo_env.value}")

    try:
        demo_invoices = int(raw.get("DEMO_INVOICES", "2000"))
        if demo_invoices < 0:
            raise ValueError
    except ValueError:
        raise ConfigError(f"QBSYNC_DEMO_INVOICES must be a whole number ≥ 0; got {raw['DEMO_INVOICES']!r}") from None

    demo_companies_raw = raw.get("DEMO_COMPANIES", "1").strip()
    if demo_companies_raw not in ("1", "2"):
        raise ConfigError(f"QBSYNC_DEMO_COMPANIES must be 1 or 2; got {raw['DEMO_COMPANIES']!r}")

    background_raw = raw.get("BACKGROUND", "on").lower()
    if background_raw not in _SWITCH:
        raise ConfigError(f"QBSYNC_BACKGROUND must be on or off; got {raw['BACKGROUND']!r}")
    require_sign_in_raw = raw.get("REQUIRE_SIGN_IN", "off").lower()
    if require_sign_in_raw not in _SWITCH:
        raise ConfigError(f"QBSYNC_REQUIRE_SIGN_IN must be on or off; got {raw['REQUIRE_SIGN_IN']!r}")

    unknown_users = raw.get("UNKNOWN_USERS", "viewer").lower()
    if unknown_users not in ("viewer", "deny"):
        raise ConfigError(f"QBSYNC_UNKNOWN_USERS must be viewer or deny; got {raw['UNKNOWN_USERS']!r}")
    admin_emails = tuple(e.strip().lower() for e in raw.get("ADMIN_EMAILS", "").split(",") if e.strip())
    if any("@" not in e for e in admin_emails):
        raise ConfigError("QBSYNC_ADMIN_EMAILS must be a comma-separated list of email addresses")

    try:
        pull_every_s = int(raw.get("PULL_EVERY_S", "900"))
        if pull_every_s < 60:
            raise ValueError
    except ValueError:
        raise ConfigError(f"QBSYNC_PULL_EVERY_S must be a whole number of seconds ≥ 60; got {raw['PULL_EVERY_S']!r}") \
            from None

    secret_key = raw.get("SECRET_KEY")
    if secret_key:
        _check_fernet_key(secret_key, "QBSYNC_SECRET_KEY")
    else:
        secret_key = load_or_create_key_file(data_dir / "secret.key")

    defaults = Config(database_url=database_url)
    return Config(
        database_url=database_url,
        qbo_env=qbo_env,
        qbo_base_url=base_url,
        client_id=raw.get("CLIENT_ID", defaults.client_id),
        client_secret=raw.get("CLIENT_SECRET", defaults.client_secret),
        redirect_uri=raw.get("REDIRECT_URI", defaults.redirect_uri),
        secret_key=secret_key,
        data_dir=data_dir,
        demo_invoices=demo_invoices,
        demo_companies=int(demo_companies_raw),
        background=background_raw in _ON,
        unknown_users=unknown_users,
        admin_emails=admin_emails,
        require_sign_in=require_sign_in_raw in _ON,
        webhook_verifier=raw.get("WEBHOOK_VERIFIER", ""),
        pull_every_s=pull_every_s,
    )


def load_or_create_key_file(path: Path) -> str:
    """The token-encryption key of the embedded default: made once, kept 0600."""
    # Imported here so that reading config never pulls in cryptography's backend needlessly.
    from cryptography.fernet import Fernet

    if path.exists():
        key = path.read_text().strip()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key().decode()
        tmp = path.with_suffix(f".{_secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        os.replace(tmp, path)
    _check_fernet_key(key, f"{path} (delete it to make a new one)")
    return key


def _check_fernet_key(key: str, where: str) -> None:
    from cryptography.fernet import Fernet

    try:
        for part in key.split(","):
            Fernet(part.strip().encode())
    except ValueError:
        raise ConfigError(
            f"{where} is not a valid key: use the output of "
            "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
        ) from None
