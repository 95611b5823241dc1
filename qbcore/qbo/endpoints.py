"""Where QuickBooks lives for each environment: API base and OAuth discovery document."""

from __future__ import annotations

import os

from qbcore.config import Config, ConfigError, QboEnvironment

INTUIT_API = {
    QboEnvironment.SANDBOX: "https://sandbox-quickbooks.api.intuit.com/v3",
    QboEnvironment.PRODUCTION: "https://quickbooks.api.intuit.com/v3",
}
# intuit-oauth resolves these two names to Intuit's discovery documents itself.
INTUIT_DISCOVERY = {QboEnvironment.SANDBOX: "sandbox", QboEnvironment.PRODUCTION: "production"}
MINOR_VERSION = 75


def local_base(config: Config) -> str:
    """The local sandbox's base URL; a plain error when it is not configured."""
    if not config.qbo_base_url:
        raise ConfigError("QBSYNC_QBO_BASE_URL must point at the local QuickBooks sandbox when QBSYNC_QBO_ENV=local "
                          "(run `qbsync sandbox` and set it to http://127.0.0.1:8700)")
    return config.qbo_base_url


def api_base(config: Config) -> str:
    """The accounting API base, ending in /v3."""
    if config.qbo_env is QboEnvironment.LOCAL:
        return f"{local_base(config)}/v3"
    return INTUIT_API[config.qbo_env]


def discovery(config: Config) -> str:
    """What intuit-oauth takes as `environment`: a name, or the local discovery document's URL."""
    if config.qbo_env is QboEnvironment.LOCAL:
        base = local_base(config)
        if base.startswith("http://"):
            # requests-oauthlib refuses plain http; only the loopback sandbox is ever served that way.
            os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
        return f"{base}/.well-known/openid_configuration"
    return INTUIT_DISCOVERY[config.qbo_env]
