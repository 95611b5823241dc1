"""Alert channels: email over SMTP and chat webhooks; saved by admins (audited), secrets encrypted, never shown."""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlparse

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from qbcore.access import Actor, require_role, write_audit
from qbcore.alerts.messages import Message
from qbcore.models import AlertChannel, ChannelKind, Role
from qbcore.refusals import Refusal
from qbcore.secrets_box import SecretBox

SECURITY = ("starttls", "ssl", "none")
SMTP_TIMEOUT_S = 20.0
WEBHOOK_TIMEOUT_S = 10.0
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$|^[^@\s,;<>]+@localhost$")
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class ChannelError(Refusal, ValueError):
    """A channel's settings are invalid; the message names the field and the fix. Nothing was saved."""

    correctable = True


class DeliveryError(Exception):
    """A message could not be delivered; the text says why in words and never holds a secret."""


@dataclass(frozen=True)
class ChannelView:
    """A channel as pages show it: never its password or webhook URL, only where it goes."""

    id: int
    name: str
    kind: ChannelKind
    enabled: bool
    digest: bool
    destination: str
    has_secret: bool
    settings: dict[str, Any]
    failures_in_a_row: int
    last_error: str | None


def _hostname(url: str) -> str:
    return urlparse(url).hostname or "the webhook"


def destination_of(channel: AlertChannel) -> str:
    """Where a channel delivers, safe to show: the recipients, or the webhook's host."""
    if channel.kind == ChannelKind.EMAIL:
        return ", ".join(channel.settings.get("recipients", []))
    return str(channel.settings.get("host") or "the webhook")


def view_channel(channel: AlertChannel) -> ChannelView:
    """The safe view of a channel."""
    settings = {k: v for k, v in channel.settings.items() if k != "password"}
    return ChannelView(id=channel.id, name=channel.name, kind=ChannelKind(channel.kind), enabled=channel.enabled,
                       digest=channel.digest, destination=destination_of(channel), has_secret=bool(channel.secret_enc),
                       settings=settings, failures_in_a_row=channel.failures_in_a_row, last_error=channel.last_error)


def list_channels(session: Session) -> list[ChannelView]:
    """Every channel, by name."""
    return [view_channel(c) for c in session.scalars(select(AlertChannel).order_by(AlertChannel.name))]


def _email_settings(settings: dict[str, Any]) -> dict[str, Any]:
    host = str(settings.get("host") or "").strip()
    if not host or any(ch.isspace() for ch in host):
        raise ChannelError("Email: give the SMTP server's host name, e.g. smtp.example.com. Nothing was saved.")
    try:
        port = int(settings.get("port") or 587)
        if not 1 <= port <= 65535:
            raise ValueError
    except (TypeError, ValueError):
        raise ChannelError("Email: the SMTP port is a number from 1 to 65535 (587 for STARTTLS, 465 for SSL). "
                           "Nothing was saved.") from None
    security = str(settings.get("security") or "starttls")
    if security not in SECURITY:
        raise ChannelError("Email: security is STARTTLS, SSL or none. Nothing was saved.")
    if security == "none" and host not in _LOCAL_HOSTS:
        raise ChannelError("Email: an SMTP server other than this machine needs STARTTLS or SSL, so the password "
                           "and the messages are not sent in the clear. Nothing was saved.")
    sender = str(settings.get("sender") or "").strip()
    if not _EMAIL.match(sender):
        raise ChannelError(f"Email: the sender {sender!r} is not an email address. Nothing was saved.")
    raw = settings.get("recipients") or []
    recipients = [r.strip() for r in (raw.replace(";", ",").split(",") if isinstance(raw, str) else raw)
                  if str(r).strip()]
    bad = [r for r in recipients if not _EMAIL.match(r)]
    if not recipients or bad:
        raise ChannelError("Email: give one or more recipients as addresses separated by commas"
                           + (f" ({', '.join(repr(b) for b in bad)} is not one)" if bad else "")
                           + ". Nothing was saved.")
    username = str(settings.get("username") or "").strip()
    return {"host": host, "port": port, "security": security, "sender": sender, "recipients": recipients,
            "username": username}


def _webhook_url(url: str) -> str:
    url = url.strip()
    parsed = urlparse(url)
    local = parsed.hostname in _LOCAL_HOSTS
    if not parsed.hostname or parsed.scheme not in ("https", "http") or (parsed.scheme == "http" and not local):
        raise ChannelError("Webhook: the URL must start with https:// (as Slack and Teams incoming webhooks do). "
                           "Nothing was saved.")
    return url


def save_channel(
    session: Session, box: SecretBox, actor: Actor, *, name: str, kind: str, settings: dict[str, Any],
    secret: str | None = None, channel_id: int | None = None, enabled: bool = True, digest: bool = False,
) -> ChannelView:
    """Create or change a channel (admin only, audited); `secret` None keeps the stored password or URL."""
    require_role(actor, Role.ADMIN, "change_alert_channel", session=session, target_type="alert_channel",
                 target_id=None if channel_id is None else str(channel_id))
    name = name.strip()
    if not name or len(name) > 80:
        raise ChannelError("Give the channel a name of at most 80 characters, e.g. Finance ops email. "
                           "Nothing was saved.")
    try:
        channel_kind = ChannelKind(kind)
    except ValueError:
        raise ChannelError("A channel is email, Slack or Teams. Nothing was saved.") from None
    channel = None if channel_id is None else session.get(AlertChannel, channel_id)
    if channel_id is not None and channel is None:
        raise ChannelError(f"There is no channel #{channel_id} (it may have been deleted). Nothing was saved.")
    clash = session.scalar(select(AlertChannel).where(AlertChannel.name == name))
    if clash is not None and clash is not channel:
        raise ChannelError(f"A channel named {name!r} exists already; choose another name. Nothing was saved.")
    secret = None if secret is None or secret == "" else secret
    if channel_kind is ChannelKind.EMAIL:
        clean = _email_settings(settings)
    else:
        if secret is None and (channel is None or not channel.secret_enc or channel.kind != channel_kind):
            raise ChannelError("Webhook: paste the incoming webhook URL. Nothing was saved.")
        clean = {"host": _hostname(_webhook_url(secret)) if secret else (channel.settings.get("host")
                                                                          if channel else None)}
    before = None
    if channel is None:
        channel = AlertChannel(name=name, kind=channel_kind.value, settings=clean, enabled=enabled, digest=digest,
                               failures_in_a_row=0)
        session.add(channel)
    else:
        before = {"name": channel.name, "kind": channel.kind, "settings": channel.settings,
                  "enabled": channel.enabled, "digest": channel.digest}
        channel.name, channel.kind, channel.settings = name, channel_kind, clean
        channel.enabled, channel.digest = enabled, digest
    if secret is not None:
        channel.secret_enc = box.encrypt(secret)
    channel.updated_by = actor.email
    session.flush()
    after = {"name": name, "kind": channel_kind.value, "settings": clean, "enabled": enabled, "digest": digest,
             # Only that a secret changed is audited, never the secret.
             "secret": "changed" if secret is not None else "kept"}
    write_audit(session, actor, "change_alert_channel", target_type="alert_channel", target_id=channel.id,
                before=before, after=after)
    return view_channel(channel)


def delete_channel(session: Session, actor: Actor, channel_id: int) -> None:
    """Remove a channel and its history (admin only, audited)."""
    require_role(actor, Role.ADMIN, "delete_alert_channel", session=session, target_type="alert_channel",
                 target_id=str(channel_id))
    channel = session.get(AlertChannel, channel_id)
    if channel is None:
        raise ChannelError(f"There is no channel #{channel_id}; nothing was deleted.")
    write_audit(session, actor, "delete_alert_channel", target_type="alert_channel", target_id=channel_id,
                before={"name": channel.name, "kind": channel.kind, "settings": channel.settings})
    session.delete(channel)


def send_email(settings: dict[str, Any], password: str | None, message: Message, *, message_id: str) -> str:
    """Send over SMTP; returns who received it; DeliveryError says why in words."""
    host, port, security = settings["host"], int(settings["port"]), settings.get("security", "starttls")
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = settings["sender"]
    mail["To"] = ", ".join(settings["recipients"])
    # The same id on a resend lets mail systems drop a duplicate.
    mail["Message-ID"] = message_id
    mail.set_content(message.text)
    mail.add_alternative(f"<html><body>{message.html}</body></html>", subtype="html")
    where = f"{host}:{port}"
    try:
        context = ssl.create_default_context()
        smtp_class = smtplib.SMTP_SSL if security == "ssl" else smtplib.SMTP
        kwargs: dict[str, Any] = {"context": context} if security == "ssl" else {}
        with smtp_class(host, port, timeout=SMTP_TIMEOUT_S, **kwargs) as smtp:
            if security == "starttls":
                smtp.starttls(context=context)
            if settings.get("username"):
                smtp.login(settings["username"], password or "")
            refused = smtp.send_message(mail)
    except smtplib.SMTPAuthenticationError:
        raise DeliveryError(f"the SMTP server {where} refused the username or password; check them in the "
                            "channel") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(f"the SMTP server {where} refused every recipient "
                            f"({', '.join(map(str, exc.recipients))})") from None
    except smtplib.SMTPNotSupportedError:
        raise DeliveryError(f"the SMTP server {where} does not offer STARTTLS; choose SSL or another port") from None
    except smtplib.SMTPException as exc:
        raise DeliveryError(f"the SMTP server {where} answered: {type(exc).__name__}") from None
    except ssl.SSLError as exc:
        raise DeliveryError(f"no secure connection to {where} ({exc.reason or 'TLS failed'}); check the "
                            "security setting and port") from None
    except TimeoutError:
        raise DeliveryError(f"no answer from the SMTP server {where} within {SMTP_TIMEOUT_S:.0f} s") from None
    except OSError as exc:
        raise DeliveryError(f"could not reach the SMTP server {where} ({exc.strerror or type(exc).__name__}); "
                            "check the host and port") from None
    delivered = [r for r in settings["recipients"] if r not in refused]
    return ", ".join(delivered)


def post_webhook(url: str, payload: dict[str, Any], *, idempotency_key: str) -> str:
    """POST the JSON to the webhook; returns its host; DeliveryError never repeats the URL (it is the secret)."""
    host = _hostname(url)
    try:
        response = requests.post(url, json=payload, timeout=WEBHOOK_TIMEOUT_S,
                                 headers={"Idempotency-Key": idempotency_key}, allow_redirects=False)
    except requests.Timeout:
        raise DeliveryError(f"no answer from {host} within {WEBHOOK_TIMEOUT_S:.0f} s") from None
    except requests.ConnectionError:
        raise DeliveryError(f"could not connect to {host}; check the webhook URL") from None
    except requests.RequestException as exc:
        raise DeliveryError(f"the request to {host} failed ({type(exc).__name__})") from None
    if not 200 <= response.status_code < 300:
        body = re.sub(r"\s+", " ", response.text[:120]).strip()
        raise DeliveryError(f"{host} answered HTTP {response.status_code}" + (f": {body}" if body else ""))
    return host
