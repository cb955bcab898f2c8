"""HTTP client for a bank's API. Banks are slow and unreliable: every call has
a timeout, and an unclear answer raises :class:`BankUnavailable` rather than
being guessed at."""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

from .banks import BankConfig

DEFAULT_TIMEOUT_S = 5.0


class BankUnavailable(Exception):
    """Timeout, connection error, 5xx or a reply we cannot read: outcome unknown."""


class BankClient:
    def __init__(self, bank: BankConfig, timeout_s: float = DEFAULT_TIMEOUT_S):
        self.bank = bank
        self.timeout_s = timeout_s

    def payment_status(self, reference: str) -> dict | None:
        """The bank's record of a deposit, or None if the bank has none."""
        return self._get(f"/payments/{urllib.parse.quote(reference, safe='')}")

    def _get(self, path: str) -> dict | None:
        request = urllib.request.Request(
            self.bank.api_url + path,
            headers={"Authorization": f"Bearer {self.bank.api_key}", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise BankUnavailable(f"{self.bank.name} answered {error.code}") from None
        except (OSError, ValueError) as error:  # timeouts, resets, bad JSON
            raise BankUnavailable(f"{self.bank.name}: {error}") from None
