"""Try single sign-on by hand: `python -m local_oidc` runs the local identity provider and the console with it."""

from __future__ import annotations

import argparse
import secrets
import signal
import subprocess
import sys
from pathlib import Path

from local_oidc import ADMIN, PASSWORD, USERS, ProviderUnavailable, RunningProvider, run_provider

ROOT = Path(__file__).resolve().parents[1]


def _toml(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_secrets(path: Path, provider: RunningProvider, redirect_uri: str) -> list[str]:
    """A secrets file that points the console at the provider; the provider's admin becomes the first admin."""
    auth = provider.auth_section(redirect_uri=redirect_uri, cookie_secret=secrets.token_urlsafe(32))
    section = ["[auth]", *(f"{key} = {_toml(value)}" for key, value in auth.items())]
    lines = ["# Written by `python -m local_oidc`; made again on every run.", "[qbsync]",
             f"admin_emails = {_toml(ADMIN.email or '')}", "", *section]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return section


def main(argv: list[str] | None = None) -> int:
    """Run the provider (and, unless --provider-only, the console) until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m local_oidc", description=__doc__)
    parser.add_argument("--port", type=int, default=9400, help="the provider's port on 127.0.0.1 (default 9400)")
    parser.add_argument("--console-port", type=int, default=8501, help="the console's port (default 8501)")
    parser.add_argument("--provider-only", action="store_true",
                        help="run only the provider and print the [auth] section for a console you start yourself")
    parser.add_argument("--secrets", type=Path, default=ROOT / "data" / "local-oidc" / "secrets.toml",
                        help="where to write the console's secrets file")
    args = parser.parse_args(argv)
    # `kill` as well as Ctrl-C stops the provider (and the console) through the context managers' cleanup.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    redirect_uri = f"http://127.0.0.1:{args.console_port}/oauth2callback"
    try:
        with run_provider([redirect_uri], port=args.port, log=sys.stderr) as provider:
            section = write_secrets(args.secrets, provider, redirect_uri)
            print(f"Local identity provider: {provider.issuer}  (discovery: {provider.metadata_url})")
            print(f"Registered client {provider.client_id!r} with redirect URI {redirect_uri}")
            print(f"Accounts (password {PASSWORD!r} for all):")
            for user in USERS:
                print(f"  {user.login:<9} {user.name:<14} {user.email or '(sends no email claim)'}")
            print(f"{ADMIN.email} becomes admin on first sign-in; add the others in Settings → Users.")
            print(f"Secrets file: {args.secrets}")
            if args.provider_only:
                print("For a console you start yourself, in its .streamlit/secrets.toml:", *section, sep="\n")
                print("Ctrl-C stops the provider.")
                signal.pause()
                return 0
            print(f"Console: http://127.0.0.1:{args.console_port}  (Ctrl-C stops both)")
            return subprocess.run(
                [sys.executable, "-m", "streamlit", "run", str(ROOT / "Home.py"), "--server.port",
                 str(args.console_port), "--secrets.files", str(args.secrets)], cwd=ROOT, check=False,
            ).returncode
    except ProviderUnavailable as exc:
        print(f"Cannot start the local identity provider: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
