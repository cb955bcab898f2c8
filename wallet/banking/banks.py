"""The registry of banks we take deposits from and pay out to, read from settings.

    banks.enabled = hdfc axis
    banks.hdfc.name = HDFC Bank
    banks.hdfc.netbanking_url = http://127.0.0.1:6546/hdfc/netbanking
    banks.hdfc.api_url = http://127.0.0.1:6546/hdfc/api
    banks.hdfc.api_key = ...
    banks.hdfc.webhook_secrets = current-secret previous-secret   (rotation: any may sign)
    banks.hdfc.allowed_networks = 127.0.0.0/8 ::1/128             (webhook source CIDRs)
    banks.hdfc.settlement_shards = 16      (optional; default banks.settlement_shards, else 8)
    banks.hdfc.ifsc_prefixes = HDFC       (its branches' IFSCs; optional: any if unset)
    banks.hdfc.protocol = standard        (the dialect it speaks: wallet.banking.protocols;
                                           optional, default standard)

Adding a bank is adding its lines: nothing else names banks.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..core.ini import ConfigurationError, require_secret
from ..core.networks import Network, address_allowed, parse_networks
from .protocols import DEFAULT_PROTOCOL, PROTOCOLS

_BANK_CODE = re.compile(r"[a-z][a-z0-9_]{1,30}")
#: Settlement accounts per bank (wallet.banking.settlement): enough that a bank's
#: concurrent deposits and payouts rarely meet on one row.
DEFAULT_SETTLEMENT_SHARDS = 8
MAX_SETTLEMENT_SHARDS = 1000
_IFSC_PREFIX = re.compile(r"[A-Z]{4}", re.ASCII)
_ACCOUNT_NUMBER = re.compile(r"[0-9]{9,18}", re.ASCII)
_IFSC = re.compile(r"[A-Z]{4}0[A-Z0-9]{6}", re.ASCII)


@dataclass(frozen=True)
class BankConfig:
    code: str
    name: str
    netbanking_url: str
    api_url: str
    api_key: str
    webhook_secrets: tuple[str, ...]
    allowed_networks: tuple[Network, ...]
    settlement_shards: int = DEFAULT_SETTLEMENT_SHARDS
    #: The first four letters of its branches' IFSCs (empty: not checked).
    ifsc_prefixes: tuple[str, ...] = ()
    #: The dialect of its webhooks and API (a name in wallet.banking.protocols.PROTOCOLS).
    protocol: str = DEFAULT_PROTOCOL
    #: The most one payout may carry at this bank (``banks.<code>.max_payout_paise``;
    #: 0: no cap): a shop's settlement above it is split (wallet.banking.auto_settlement).
    max_payout_paise: int = 0

    def has_branch(self, ifsc: str) -> bool:
        """Whether ``ifsc`` is one of this bank's branches (as far as we know)."""
        return not self.ifsc_prefixes or ifsc[:4] in self.ifsc_prefixes

    def allows(self, address: str | None) -> bool:
        return address_allowed(self.allowed_networks, address)


def clean_payee(account_number: str, ifsc: str) -> tuple[str, str]:
    """An account number and IFSC as typed, as stored: no spaces or dashes,
    upper case."""
    return re.sub(r"[\s-]", "", account_number or ""), (ifsc or "").strip().upper()


def payee_problems(banks: Mapping[str, BankConfig], bank_code: str, account_number: str,
                   ifsc: str) -> dict[str, str]:
    """Every problem with a bank account money would be paid out to, by field
    (empty: none): a listed bank, 9-18 digits, an IFSC of that bank."""
    account_number, ifsc = clean_payee(account_number, ifsc)
    problems: dict[str, str] = {}
    bank = banks.get(bank_code)
    if bank is None:
        problems["bank"] = "Choose one of the listed banks."
    if not _ACCOUNT_NUMBER.fullmatch(account_number):
        problems["account_number"] = "Enter the account number: 9 to 18 digits."
    if not _IFSC.fullmatch(ifsc):
        problems["ifsc"] = "Enter the 11-character IFSC, like HDFC0001234."
    elif bank is not None and not bank.has_branch(ifsc):
        problems["ifsc"] = _other_branch(banks, bank, ifsc)
    return problems


def _other_branch(banks: Mapping[str, BankConfig], chosen: BankConfig, ifsc: str) -> str:
    """What to say of an IFSC of another bank: choose that bank if we pay out
    to it, else say plainly that we do not (never suggest a bank not offered)."""
    owners = [bank.name for bank in banks.values() if bank.ifsc_prefixes and bank.has_branch(ifsc)]
    if owners:
        return (f"{ifsc} is an IFSC of {owners[0]}, not of {chosen.name}: choose "
                f"{owners[0]} as the bank, or check the IFSC.")
    return (f"{ifsc} is not a {chosen.name} branch, and we cannot pay out to the bank of "
            f"{ifsc[:4]} codes: check the IFSC, or use an account at one of the listed banks.")


def _shards(settings: Mapping[str, Any], key: str, default: int) -> int:
    text = str(settings.get(key) or "").strip()
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= MAX_SETTLEMENT_SHARDS:
        raise ConfigurationError(
            f"setting {key} = {text!r}: a whole number from 1 to {MAX_SETTLEMENT_SHARDS}")
    return int(text)


def _protocol(settings: Mapping[str, Any], key: str) -> str:
    name = str(settings.get(key) or "").strip() or DEFAULT_PROTOCOL
    if name not in PROTOCOLS:
        raise ConfigurationError(f"setting {key} = {name!r}: one of {', '.join(PROTOCOLS)}")
    return name


def _max_payout(settings: Mapping[str, Any], key: str) -> int:
    text = str(settings.get(key) or "").strip()
    if not text:
        return 0
    if not text.isascii() or not text.isdigit() or len(text) > 15:
        raise ConfigurationError(f"setting {key} = {text!r}: whole paise (0: no cap)")
    return int(text)


def load_banks(settings: Mapping[str, Any]) -> dict[str, BankConfig]:
    banks: dict[str, BankConfig] = {}
    shards = _shards(settings, "banks.settlement_shards", DEFAULT_SETTLEMENT_SHARDS)
    enabled: str = settings.get("banks.enabled", "")
    for code in enabled.split():
        if not _BANK_CODE.fullmatch(code):
            raise ConfigurationError(f"bad bank code {code!r} in banks.enabled")
        prefix = f"banks.{code}."

        def get(key: str, prefix: str = prefix) -> str:
            value: str = settings.get(prefix + key, "").strip()
            if not value:
                raise ConfigurationError(f"setting {prefix}{key} is required")
            return value

        secrets_setting = prefix + "webhook_secrets"
        require_secret(settings, secrets_setting)
        secrets: tuple[str, ...] = tuple(settings[secrets_setting].split())
        for secret in secrets:
            require_secret({**settings, "_secret": secret}, "_secret")
        networks = parse_networks(get("allowed_networks"), f"{prefix}allowed_networks")
        prefixes = tuple(settings.get(prefix + "ifsc_prefixes", "").upper().split())
        if any(not _IFSC_PREFIX.fullmatch(p) for p in prefixes):
            raise ConfigurationError(f"{prefix}ifsc_prefixes: four letters each, like HDFC")
        banks[code] = BankConfig(
            code=code,
            name=get("name"),
            netbanking_url=get("netbanking_url"),
            api_url=get("api_url").rstrip("/"),
            api_key=require_secret(settings, prefix + "api_key"),
            webhook_secrets=secrets,
            allowed_networks=networks,
            settlement_shards=_shards(settings, prefix + "settlement_shards", shards),
            ifsc_prefixes=prefixes,
            protocol=_protocol(settings, prefix + "protocol"),
            max_payout_paise=_max_payout(settings, prefix + "max_payout_paise"),
        )
    return banks
