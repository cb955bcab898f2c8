"""MSG91 (https://msg91.com), an Indian SMS provider: its Flow API sends a
DLT-registered template whose variable ``##text##`` carries our message.

Settings: ``wallet.sms_msg91_auth_key`` (the account's auth key: a secret,
from the environment in production), ``wallet.sms_msg91_template_id``,
``wallet.sms_msg91_url`` (default the public API; tests point it at a stub)
and ``wallet.sms_timeout_s``. Plain ``urllib``: no framework, no SDK.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from ..core.ini import DEVELOPMENT_SECRET_MARKER, ConfigurationError, is_production
from .sms import Bind, SmsMessage, SmsUndelivered

DEFAULT_URL = "https://control.msg91.com/api/v5/flow/"
DEFAULT_TIMEOUT_S = 5.0
#: MSG91's auth keys are shorter than our own secrets (24 characters or so).
MIN_AUTH_KEY_CHARS = 20
MAX_REPLY_BYTES = 16_384


class Msg91Gateway:
    name = "msg91"

    def __init__(self, settings: Mapping[str, Any], bind: Bind | None = None) -> None:
        self.check_settings(settings)
        self.url = str(settings.get("wallet.sms_msg91_url") or DEFAULT_URL).strip()
        self.auth_key = str(settings["wallet.sms_msg91_auth_key"]).strip()
        self.template_id = str(settings["wallet.sms_msg91_template_id"]).strip()
        self.timeout_s = float(settings.get("wallet.sms_timeout_s") or DEFAULT_TIMEOUT_S)

    def __repr__(self) -> str:  # (never the auth key)
        return f"Msg91Gateway(url={self.url!r}, template_id={self.template_id!r})"

    @staticmethod
    def check_settings(settings: Mapping[str, Any]) -> None:
        production = is_production(settings)
        key = str(settings.get("wallet.sms_msg91_auth_key") or "").strip()
        if not key:
            raise ConfigurationError("setting wallet.sms_msg91_auth_key is required (it is blank)")
        if production and (DEVELOPMENT_SECRET_MARKER in key or len(key) < MIN_AUTH_KEY_CHARS):
            raise ConfigurationError("setting wallet.sms_msg91_auth_key is a development value "
                                     "or too short; set the account's real auth key")
        if not str(settings.get("wallet.sms_msg91_template_id") or "").strip():
            raise ConfigurationError("setting wallet.sms_msg91_template_id is required "
                                     "(the DLT template with a ##text## variable)")
        url = str(settings.get("wallet.sms_msg91_url") or DEFAULT_URL).strip()
        if production and not url.startswith("https://"):
            raise ConfigurationError("wallet.sms_msg91_url must be https in production")
        try:
            timeout = float(settings.get("wallet.sms_timeout_s") or DEFAULT_TIMEOUT_S)
        except ValueError:
            timeout = 0.0
        if not timeout > 0:
            raise ConfigurationError("wallet.sms_timeout_s must be a positive number")

    def body(self, message: SmsMessage) -> dict[str, Any]:
        """The Flow API's request: the number without its "+", our text as the variable."""
        return {"template_id": self.template_id, "short_url": "0",
                "recipients": [{"mobiles": message.phone.lstrip("+"), "text": message.text}]}

    def send(self, message: SmsMessage, /) -> None:
        request = urllib.request.Request(
            self.url, data=json.dumps(self.body(message)).encode(), method="POST",
            headers={"authkey": self.auth_key, "Content-Type": "application/json",
                     "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                reply = json.loads(response.read(MAX_REPLY_BYTES))
        except urllib.error.HTTPError as error:
            raise SmsUndelivered(f"msg91 answered HTTP {error.code}") from None
        except (OSError, ValueError) as error:  # timeouts, resets, not JSON
            raise SmsUndelivered(f"msg91: {type(error).__name__}") from None
        if not isinstance(reply, dict) or reply.get("type") != "success":
            raise SmsUndelivered("msg91 did not accept the message")
