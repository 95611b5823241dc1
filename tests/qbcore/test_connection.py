"""One connection reader: the connection check, the health shown and the token store read the same row."""

from datetime import timedelta

from cryptography.fernet import Fernet

from qbcore.config import Config
from qbcore.connection import current_connection, get_connection_state, is_connected
from qbcore.db import transaction
from qbcore.models import ConnectionStatus, QboConnection, utcnow
from qbcore.qbo.tokens import load_tokens
from qbcore.secrets_box import SecretBox


def _two_rows(factory, key: str, first: ConnectionStatus, second: ConnectionStatus) -> None:
    box = SecretBox(key)
    with transaction(factory) as session:
        for realm, status in (("1001", first), ("2002", second)):
            session.add(QboConnection(realm_id=realm, environment="local", status=status, company_name=f"Co {realm}",
                                      access_token_enc=box.encrypt(f"a-{realm}"),
                                      refresh_token_enc=box.encrypt(f"r-{realm}"),
                                      access_expires_at=utcnow() + timedelta(hours=1)))


def test_the_oldest_row_is_the_connection_for_every_reader(factory, engine):
    key = Fernet.generate_key().decode()
    # The console creates one row and reuses it; a later row is a stray and must not change any answer.
    _two_rows(factory, key, ConnectionStatus.CONNECTED, ConnectionStatus.DISCONNECTED)
    with factory() as session:
        assert current_connection(session).realm_id == "1001"
        assert is_connected(session) is True
        assert get_connection_state(session).company_name == "Co 1001"
    tokens = load_tokens(factory, Config(database_url=str(engine.url), secret_key=key))
    assert (tokens.realm_id, tokens.access_token) == ("1001", "a-1001")


def test_a_disconnected_oldest_row_is_not_connected_even_beside_a_connected_one(factory):
    _two_rows(factory, Fernet.generate_key().decode(), ConnectionStatus.DISCONNECTED, ConnectionStatus.CONNECTED)
    with factory() as session:
        assert is_connected(session) is False
        assert get_connection_state(session).status is ConnectionStatus.DISCONNECTED
