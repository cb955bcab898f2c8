"""Full KYC: a user gives their name as on their PAN card, the PAN and their
date of birth; a verifier (the PAN registry's API, a KYC provider) confirms
them, and the wallet moves to full KYC and its higher limits (wallet.limits).

The verifier is behind :class:`KycVerifier`, named by the setting
``wallet.kyc_verifier`` (``module:factory``, called with the settings). The
default, :class:`ApproveAllVerifier`, approves every well-formed request: for
development and tests only.
"""
from __future__ import annotations

import datetime as dt
import importlib
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

from .codes import IST, utcnow
from .errors import WalletError
from .limits import KycLevel
from .models import KycRecord, User
from .text import is_ordinary

__all__ = ["ApproveAllVerifier", "KycDetails", "KycRefused", "KycService", "KycVerdict",
           "KycVerifier", "load_verifier"]

_PAN = re.compile(r"[A-Z]{5}[0-9]{4}[A-Z]", re.ASCII)
MIN_AGE_YEARS = 18
MAX_NAME_CHARS = 80


class KycRefused(WalletError):
    code = "kyc_refused"


@dataclass(frozen=True)
class KycDetails:
    name_on_pan: str
    pan: str
    date_of_birth: dt.date


@dataclass(frozen=True)
class KycVerdict:
    approved: bool
    #: the verifier's reference for this check (kept with the record)
    reference: str = ""
    #: why not, fit to show the user
    reason: str = ""


class KycVerifier(Protocol):
    """Confirms a person's PAN details with the registry (or a provider)."""

    name: str

    def verify(self, details: KycDetails, /) -> KycVerdict: ...


class ApproveAllVerifier:
    """Development and tests: every well-formed request is approved."""

    name = "approve-all (development)"

    def __init__(self, settings: Mapping[str, Any] | None = None) -> None:
        self.settings = settings

    def verify(self, details: KycDetails, /) -> KycVerdict:
        return KycVerdict(True, reference=f"dev-{details.pan[-5:]}")


def load_verifier(spec: str, settings: Mapping[str, Any]) -> KycVerifier:
    """The verifier named ``module:factory``, made with the settings."""
    module_name, _, attribute = spec.partition(":")
    factory: Callable[[Mapping[str, Any]], KycVerifier] = getattr(
        importlib.import_module(module_name), attribute)
    return factory(settings)


def parse_details(name: str, pan: str, date_of_birth: str, *, today: dt.date) -> KycDetails:
    """The form's fields checked: each error names its field."""
    name = unicodedata.normalize("NFC", " ".join((name or "").split()))
    if not name or len(name) > MAX_NAME_CHARS or not is_ordinary(name):
        raise WalletError("Enter your name exactly as on your PAN card.", "name_on_pan")
    pan = (pan or "").strip().upper()
    if not _PAN.fullmatch(pan):
        raise WalletError("A PAN has 10 characters like ABCDE1234F: five letters, four "
                          "digits, a letter.", "pan")
    try:
        born = dt.date.fromisoformat((date_of_birth or "").strip())
    except ValueError:
        raise WalletError("Enter your date of birth, like 1990-04-21.",
                          "date_of_birth") from None
    if born.year < 1900 or born > today:
        raise WalletError("Enter your real date of birth.", "date_of_birth")
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if age < MIN_AGE_YEARS:
        raise WalletError(f"Full KYC is for people aged {MIN_AGE_YEARS} or more.",
                          "date_of_birth")
    return KycDetails(name, pan, born)


class KycService:
    def __init__(self, dbsession: Session, verifier: KycVerifier, *,
                 clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.verifier = verifier
        self.clock = clock

    def upgrade(self, user: User, name: str, pan: str, date_of_birth: str) -> KycRecord:
        """Verify the details and move ``user`` to full KYC; KycRefused if not."""
        if user.kyc_level == KycLevel.FULL:
            raise WalletError("Your KYC is already complete.")
        details = parse_details(name, pan, date_of_birth,
                                today=self.clock().astimezone(IST).date())
        verdict = self.verifier.verify(details)
        if not verdict.approved:
            raise KycRefused(verdict.reason or "We could not verify these details with the "
                             "PAN registry. Check them against your PAN card.")
        return self.record(user, details, verdict.reference)

    def record(self, user: User, details: KycDetails, reference: str) -> KycRecord:
        """Store verified details and raise the user's level (also: demo data)."""
        record = KycRecord(user_id=user.id, name_on_pan=details.name_on_pan, pan=details.pan,
                           date_of_birth=details.date_of_birth,
                           verifier=self.verifier.name[:40], reference=reference[:80],
                           verified_at=self.clock())
        self.db.merge(record)
        user.kyc_level = KycLevel.FULL
        self.db.flush()
        return record
