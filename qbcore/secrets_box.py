"""Tokens encrypted at rest (Fernet), with key rotation; plaintext never leaves this module's callers."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select
from sqlalchemy.orm import Session


class SecretBoxError(ValueError):
    """A stored secret cannot be decrypted with the configured key(s)."""


class SecretBox:
    """Encrypts and decrypts short secrets; the first key encrypts, every key decrypts."""

    def __init__(self, *keys: str) -> None:
        # "new,old" in QBSYNC_SECRET_KEY: the first key encrypts, every key decrypts (rotation).
        parts = [part.strip() for key in keys for part in key.split(",") if part.strip()]
        if not parts:
            raise SecretBoxError("at least one key is needed")
        self._fernet = MultiFernet([Fernet(part.encode()) for part in parts])

    def encrypt(self, plaintext: str) -> str:
        """Ciphertext for a secret."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        """The secret back; SecretBoxError when no key opens it."""
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise SecretBoxError(
                "a stored QuickBooks token cannot be decrypted with QBSYNC_SECRET_KEY; "
                "reconnect QuickBooks or restore the previous key"
            ) from None

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt under the newest key."""
        try:
            return self._fernet.rotate(ciphertext.encode()).decode()
        except InvalidToken:
            raise SecretBoxError("a stored token cannot be re-encrypted: no configured key opens it") from None


def reencrypt_tokens(session: Session, box: SecretBox) -> int:
    """Re-encrypt every stored QuickBooks token and alert channel secret under the first key; returns how many."""
    from qbcore.models import AlertChannel, QboConnection

    count = 0
    for row in session.scalars(select(QboConnection)):
        for column in ("access_token_enc", "refresh_token_enc"):
            value = getattr(row, column)
            if value:
                setattr(row, column, box.rotate(value))
                count += 1
    for channel in session.scalars(select(AlertChannel).where(AlertChannel.secret_enc.is_not(None))):
        channel.secret_enc = box.rotate(channel.secret_enc or "")
        count += 1
    return count
