"""The SMTP adapter against real aiosmtpd servers: STARTTLS + login, and a permanent refusal."""
from __future__ import annotations

import datetime as dt
import ssl

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from billing.config import settings
from billing.devstack.services import free_port
from billing.domain.errors import EmailFailed
from billing.ports import mail


def self_signed(tmp_path) -> ssl.SSLContext:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(hours=1)).sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context


class Recorder:
    def __init__(self, refuse: bool = False) -> None:
        self.messages, self.refuse, self.rcpt_calls = [], refuse, 0

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802 - aiosmtpd's name
        self.rcpt_calls += 1
        if self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append((session.authenticated, session.ssl is not None, envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_env(monkeypatch):
    def use(port: int, **extra: str) -> None:
        monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("SMTP_PORT", str(port))
        for key, value in extra.items():
            monkeypatch.setenv(key, value)
        settings.cache_clear()

    yield use
    monkeypatch.undo()
    settings.cache_clear()


def test_starttls_then_login_then_the_message(tmp_path, smtp_env):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"billing", b"s3cret")
        return AuthResult(success=ok)

    recorder, port = Recorder(), free_port()
    server = Controller(recorder, hostname="127.0.0.1", port=port, tls_context=self_signed(tmp_path),
                        require_starttls=True, authenticator=authenticate, auth_require_tls=True)
    server.start()
    try:
        smtp_env(port, SMTP_USER="billing", SMTP_PASS="s3cret")
        mail.send("a@acme.example", "Facture", "texte", ("f.pdf", b"%PDF-1.7", "application/pdf"), "<p>html</p>")
    finally:
        server.stop()
    [(authenticated, over_tls, content)] = recorder.messages
    assert authenticated and over_tls and b"Subject: Facture" in content and b"f.pdf" in content


def test_a_5xx_refusal_is_permanent_and_not_retried(smtp_env):
    recorder, port = Recorder(refuse=True), free_port()
    server = Controller(recorder, hostname="127.0.0.1", port=port)
    server.start()
    try:
        smtp_env(port)
        with pytest.raises(EmailFailed, match="refused"):
            mail.send("nobody@acme.example", "s", "t")
    finally:
        server.stop()
    assert recorder.rcpt_calls == 1 and recorder.messages == []
