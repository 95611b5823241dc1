"""Tokens encrypted at rest (Fernet), with key rotation; plaintext never leaves this module's callers."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretBoxError(ValueError):
    """A stored secret cannot be decrypted with the configured key(s)."""


class SecretBox:
    """Encrypts and decrypts short secrets; the first key encrypts, every key decrypts."""

    def __init__(self, *keys: str) -> None:
        if not keys:
            raise SecretBoxError("at least one key is needed")
        self._fernet = MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])

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
