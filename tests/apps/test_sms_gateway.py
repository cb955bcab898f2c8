"""The SMS gateway's settings (production refuses the outbox, its page and a
weak or missing OTP secret) and the MSG91 adapter's HTTP call, against a
stub server on 127.0.0.1."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from wallet.identity.sms import OutboxSmsGateway, SmsMessage, SmsUndelivered, load_sms_gateway
from wallet.identity.sms_msg91 import Msg91Gateway
from wallet.settings import ConfigurationError, WalletSettings

from ..conftest import PRODUCTION_KYC_SETTINGS

STRONG_SECRET = PRODUCTION_KYC_SETTINGS["wallet.otp_secret"]


def production(**changes: str) -> dict[str, str]:
    settings = {"wallet.environment": "production", **PRODUCTION_KYC_SETTINGS, **changes}
    return {key: value for key, value in settings.items() if value is not None}


def test_production_takes_a_real_provider_and_a_strong_secret():
    settings = WalletSettings.from_dict(production())
    assert settings.sms_gateway == "msg91" and settings.otp_secret == STRONG_SECRET.encode()
    assert isinstance(load_sms_gateway("msg91", settings.raw, None), Msg91Gateway)


@pytest.mark.parametrize("gateway", ["outbox", "wallet.identity.sms:OutboxSmsGateway"])
def test_production_refuses_the_outbox_gateway(gateway):
    with pytest.raises(ConfigurationError, match="outbox"):
        WalletSettings.from_dict(production(**{"wallet.sms_gateway": gateway}))


def test_production_refuses_the_outbox_page():
    with pytest.raises(ConfigurationError, match="sms_outbox_page"):
        WalletSettings.from_dict(production(**{"wallet.sms_outbox_page": "true"}))


@pytest.mark.parametrize("secret", [None, "", "   ", "short-secret",
                                    "development-only-otp-secret-never-use-in-production",
                                    "a" * 40])
def test_production_refuses_a_missing_or_weak_otp_secret(secret):
    settings = production()
    if secret is None:
        del settings["wallet.otp_secret"]
    else:
        settings["wallet.otp_secret"] = secret
    with pytest.raises(ConfigurationError, match="otp_secret"):
        WalletSettings.from_dict(settings)


@pytest.mark.parametrize("key, value", [("wallet.sms_msg91_auth_key", ""),
                                        ("wallet.sms_msg91_auth_key", "short"),
                                        ("wallet.sms_msg91_template_id", ""),
                                        ("wallet.sms_msg91_url", "http://control.msg91.com/")])
def test_production_refuses_msg91_without_its_settings(key, value):
    with pytest.raises(ConfigurationError, match=key.rpartition(".")[2]):
        WalletSettings.from_dict(production(**{key: value}))


def test_development_defaults_to_the_outbox_and_a_development_secret():
    settings = WalletSettings.from_dict({})
    assert settings.sms_gateway == "outbox" and settings.otp_secret.startswith(b"development")
    assert OutboxSmsGateway.development_only is True


class Stub:
    """A stand-in for MSG91's API: records each request, answers what it is told."""

    def __init__(self) -> None:
        self.requests: list[dict[str, object]] = []
        self.reply: tuple[int, bytes] = (200, b'{"type": "success", "message": "3661"}')
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stub.requests.append({"path": self.path, "headers": dict(self.headers),
                                      "body": json.loads(body)})
                status, reply = stub.reply
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/v5/flow/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def stub():
    server = Stub()
    yield server
    server.close()


def msg91(stub: Stub) -> Msg91Gateway:
    return Msg91Gateway({"wallet.sms_msg91_url": stub.url,
                         "wallet.sms_msg91_auth_key": "412345AbCdEfGhIjKlMnOpQr",
                         "wallet.sms_msg91_template_id": "6650a1b2c3d4e5f6a7b8c9d0",
                         "wallet.sms_timeout_s": "2"})


def test_msg91_posts_the_flow_request(stub):
    msg91(stub).send(SmsMessage("+919876543210", "493017 is your wallet code."))
    [request] = stub.requests
    assert request["path"] == "/api/v5/flow/"
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["authkey"] == "412345AbCdEfGhIjKlMnOpQr"
    assert headers["content-type"] == "application/json"
    assert request["body"] == {"template_id": "6650a1b2c3d4e5f6a7b8c9d0", "short_url": "0",
                               "recipients": [{"mobiles": "919876543210",
                                               "text": "493017 is your wallet code."}]}


@pytest.mark.parametrize("reply", [(200, b'{"type": "error", "message": "bad template"}'),
                                   (401, b'{"type": "error"}'), (200, b"not json"),
                                   (500, b"")])
def test_msg91_refusals_are_undelivered(stub, reply):
    stub.reply = reply
    with pytest.raises(SmsUndelivered):
        msg91(stub).send(SmsMessage("+919876543210", "hello"))


def test_msg91_never_shows_its_key():
    gateway = Msg91Gateway({"wallet.sms_msg91_auth_key": "412345AbCdEfGhIjKlMnOpQr",
                            "wallet.sms_msg91_template_id": "t1"})
    assert "412345" not in repr(gateway)
    assert "493017" not in repr(SmsMessage("+919876543210", "493017 is your code"))
