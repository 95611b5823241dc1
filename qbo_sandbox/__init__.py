"""A faithful local QuickBooks Online (Accounting API v3 + OAuth) served over real HTTP."""

from qbo_sandbox.server import RunningSandbox, SandboxOptions, serve, start_in_thread

__all__ = ["RunningSandbox", "SandboxOptions", "serve", "start_in_thread"]
