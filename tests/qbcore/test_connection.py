"""One connection reader per company: the connection check, the health shown and the token store read its row."""

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.exc import IntegrityError

from qbcore.config import Config
from qbcore.connection import current_connection, get_connection_state, is_connected
from qbcore.db import transaction
from qbcore.models import Company, ConnectionStatus, QboConnection, utcnow
from qbcore.qbo.tokens import load_tokens
from qbcore.secrets_box import SecretBox


def _two_companies(factory, key: str, first: ConnectionStatus, second: ConnectionStatus) -> None:
    box = SecretBox(key)
    with transaction(factory) as session:
        session.add(Company(id=2, name="Brokerage"))
        for company_id, realm, status in ((1, "1001", first), (2, "2002", second)):
            session.add(QboConnection(company_id=company_id, realm_id=realm, environment="local", status=status,
                                      company_name=f"Co {realm}", access_token_enc=box.encrypt(f"a-{realm}"),
                                      refresh_token_enc=box.encrypt(f"r-{realm}"),
                                      access_expires_at=utcnow() + timedelta(hours=1)))


def test_every_reader_answers_from_the_companys_own_row(factory, engine):
    key = Fernet.generate_key().decode()
    _two_companies(factory, key, ConnectionStatus.CONNECTED, ConnectionStatus.DISCONNECTED)
    config = Config(database_url=str(engine.url), secret_key=key)
    with factory() as session:
        # No company named: the default company (the first, made by the migration).
        assert current_connection(session).realm_id == "1001"
        assert is_connected(session) is True
        assert get_connection_state(session).company_name == "Co 1001"
        assert current_connection(session, 2).realm_id == "2002"
        assert is_connected(session, 2) is False
        assert get_connection_state(session, 2).status is ConnectionStatus.DISCONNECTED
    tokens = load_tokens(factory, config)
    assert (tokens.realm_id, tokens.access_token) == ("1001", "a-1001")


def test_a_disconnected_company_is_not_connected_even_beside_a_connected_one(factory, engine):
    key = Fernet.generate_key().decode()
    _two_companies(factory, key, ConnectionStatus.DISCONNECTED, ConnectionStatus.CONNECTED)
    with factory() as session:
        assert is_connected(session) is False
        assert get_connection_state(session).status is ConnectionStatus.DISCONNECTED
        assert is_connected(session, 2) is True
    tokens = load_tokens(factory, Config(database_url=str(engine.url), secret_key=key), 2)
    assert (tokens.realm_id, tokens.access_token) == ("2002", "a-2002")


def test_a_company_has_one_connection_row(factory):
    with transaction(factory) as session:
        session.add(QboConnection(company_id=1, realm_id="1001", environment="local"))
    with pytest.raises(IntegrityError), transaction(factory) as session:
        session.add(QboConnection(company_id=1, realm_id="1002", environment="local"))
