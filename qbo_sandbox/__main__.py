"""`python -m qbo_sandbox`: run the local QuickBooks Online sandbox from the command line."""

from __future__ import annotations

import argparse

from qbo_sandbox.server import SandboxOptions, serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m qbo_sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8598)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--quotas", choices=["production", "off"], default="production")
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--fault-seed", type=int, default=0)
    parser.add_argument("--data", dest="data_dir", default=None, help="directory for the SQLite snapshot")
    parser.add_argument("--access-token-ttl-s", type=int, default=3600)
    parser.add_argument("--realm", dest="default_realm", default=SandboxOptions.default_realm)
    parser.add_argument("--slow-response-s", type=float, default=5.0)
    parser.add_argument(
        "--throttle-format", choices=["xml", "json"], default="xml", help="429 body (real QuickBooks: xml)"
    )
    parser.add_argument(
        "--sample-realm",
        default=SandboxOptions.sample_realm,
        help="realm seeded with Intuit's sample company ('' for none)",
    )
    args = parser.parse_args(argv)
    options = vars(args)
    options["sample_realm"] = options["sample_realm"] or None
    serve(SandboxOptions(**options))


if __name__ == "__main__":
    main()
