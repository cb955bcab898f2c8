"""Full KYC: a user gives their name as on their PAN card, the PAN and their
date of birth; a verifier (the PAN registry's API, a KYC provider) confirms
them and answers with the name it holds for the PAN, and the wallet moves to
full KYC and its higher limits (wallet.money.limits), in that name.

One PAN, one full-KYC wallet: the PAN's keyed fingerprint is unique
(wallet.identity.pan_vault, which also keeps the PAN encrypted; it is shown masked).
The name must be a person's name (letters, spaces and ``. ' -``: the wallet's
name rule and then some) and the registry's name for the PAN; it becomes the
wallet's name, so a full-KYC wallet is never called ``<script>...`` or
another person's name.

The verifier is behind :class:`KycVerifier`, named by the setting
``wallet.kyc_verifier`` (``module:factory``, called with the settings). The
default, :class:`ApproveAllVerifier`, approves every well-formed request: for
development and tests only (``development_only``: production refuses it).
"""
from __future__ import annotations

import datetime as dt
import importlib
import re
import secrets
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..core.codes import IST, KycLevel, utcnow
from ..core.errors import WalletError
from ..core.models import User
from ..core.text import is_ordinary
from .accounts import MAX_NAME_CHARS
from .errors import KycRefused
from .models import KycRecord
from .pan_vault import PanVault, mask_pan

__all__ = ["ApproveAllVerifier", "KycDetails", "KycService", "KycVerdict", "KycVerifier",
           "load_verifier", "reseal_pans", "same_name", "verified_record", "verifier_factory"]

_PAN = re.compile(r"[A-Z]{5}[0-9]{4}[A-Z]", re.ASCII)
#: A person's name: letters (and their accents), spaces, dots, apostrophes and
#: hyphens, starting with a letter.
_NAME_PUNCTUATION = frozenset(" .'-\u2019")  # (\u2019: the typographic apostrophe)
MIN_AGE_YEARS = 18
PAN_TAKEN = ("This PAN is already verified for another wallet. One PAN can complete the "
             "KYC of one wallet only: if it is yours, write to us.")


@dataclass(frozen=True)
class KycDetails:
    name_on_pan: str
    pan: str
    date_of_birth: dt.date

    def __repr__(self) -> str:  # (a PAN is never written to a log in clear)
        return (f"KycDetails(name_on_pan={self.name_on_pan!r}, pan={mask_pan(self.pan[-4:])!r}, "
                f"date_of_birth=...)")


@dataclass(frozen=True)
class KycVerdict:
    approved: bool
    #: the verifier's reference for this check (kept with the record)
    reference: str = ""
    #: why not, fit to show the user
    reason: str = ""
    #: the name the registry holds for the PAN (an approval must give it)
    registered_name: str = ""


class KycVerifier(Protocol):
    """Confirms a person's PAN details with the registry (or a provider), and
    says whose name the PAN is in."""

    name: str

    def verify(self, details: KycDetails, /) -> KycVerdict: ...


class ApproveAllVerifier:
    """Development and tests: every well-formed request is approved, in the
    name given. Production refuses it (wallet.settings)."""

    name = "approve-all (development)"
    development_only = True

    def __init__(self, settings: Mapping[str, Any] | None = None) -> None:
        self.settings = settings

    def verify(self, details: KycDetails, /) -> KycVerdict:
        return KycVerdict(True, reference=f"dev-{secrets.token_hex(4)}",
                          registered_name=details.name_on_pan)


def verifier_factory(spec: str) -> Callable[[Mapping[str, Any]], KycVerifier]:
    """The factory ``module:factory`` names (not called)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError("write it module:factory")
    factory: Callable[[Mapping[str, Any]], KycVerifier] = getattr(
        importlib.import_module(module_name), attribute)
    return factory


def load_verifier(spec: str, settings: Mapping[str, Any]) -> KycVerifier:
    """The verifier named ``module:factory``, made with the settings."""
    return verifier_factory(spec)(settings)


def is_person_name(name: str) -> bool:
    return (bool(name) and unicodedata.category(name[0])[0] == "L"
            and all(unicodedata.category(c)[0] in "LM" or c in _NAME_PUNCTUATION
                    for c in name))


def same_name(given: str, registered: str) -> bool:
    """Names as a registry compares them: case, spacing and dots aside
    (``A. P. J. Kalam`` is ``A P J KALAM``)."""
    def key(name: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", name).replace(".", " ")
                        .replace("\u2019", "'").casefold().split())

    return bool(key(given)) and key(given) == key(registered)


def parse_details(name: str, pan: str, date_of_birth: str, *, today: dt.date) -> KycDetails:
    """The form's fields checked: each error names its field."""
    name = unicodedata.normalize("NFC", " ".join((name or "").split()))
    if (not name or len(name) > MAX_NAME_CHARS or not is_ordinary(name)
            or not is_person_name(name)):
        raise WalletError("Enter your name exactly as on your PAN card (letters, spaces "
                          "and . ' - only).", "name_on_pan")
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
    def __init__(self, dbsession: Session, verifier: KycVerifier, vault: PanVault, *,
                 clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.verifier = verifier
        self.vault = vault
        self.clock = clock

    def upgrade(self, user: User, name: str, pan: str, date_of_birth: str) -> KycRecord:
        """Verify the details and move ``user`` to full KYC; KycRefused if not."""
        if user.kyc_level == KycLevel.FULL:
            raise WalletError("Your KYC is already complete.")
        details = parse_details(name, pan, date_of_birth,
                                today=self.clock().astimezone(IST).date())
        self._refuse_taken(user, self.vault.fingerprint(details.pan))  # (no registry call)
        verdict = self.verifier.verify(details)
        if not verdict.approved:
            raise KycRefused(verdict.reason or "We could not verify these details with the "
                             "PAN registry. Check them against your PAN card.")
        if not same_name(details.name_on_pan, verdict.registered_name):
            raise KycRefused("The PAN registry has another name for this PAN: enter your "
                             "name exactly as on your PAN card.", "name_on_pan")
        return self.record(user, details, verdict.reference)

    def record(self, user: User, details: KycDetails, reference: str) -> KycRecord:
        """Store verified details (the PAN sealed), raise the user's level and
        name the wallet as on the PAN (also: demo data). KycRefused if the PAN
        is another wallet's."""
        sealed = self.vault.seal(details.pan, user_id=user.id)
        self._refuse_taken(user, sealed.fingerprint)
        record = KycRecord(user_id=user.id, name_on_pan=details.name_on_pan,
                           pan_ciphertext=sealed.ciphertext, pan_key_id=sealed.key_id,
                           pan_fingerprint=sealed.fingerprint, pan_last4=sealed.last4,
                           date_of_birth=details.date_of_birth,
                           verifier=self.verifier.name[:40], reference=reference[:80],
                           verified_at=self.clock())
        try:
            with self.db.begin_nested():  # a concurrent KYC with the same PAN may win
                record = self.db.merge(record)
                self.db.flush()
        except IntegrityError:
            raise KycRefused(PAN_TAKEN, "pan") from None
        user.kyc_level = KycLevel.FULL
        user.name = details.name_on_pan
        self.db.flush()
        return record

    def _refuse_taken(self, user: User, fingerprint: str) -> None:
        owner = self.db.scalar(select(KycRecord.user_id).where(
            KycRecord.pan_fingerprint == fingerprint))
        if owner is not None and owner != user.id:
            raise KycRefused(PAN_TAKEN, "pan")


def verified_record(db: Session, user_id: int) -> KycRecord | None:
    """A full-KYC user's verified details (the PAN shown only as ``pan_masked``)."""
    return db.get(KycRecord, user_id)


def reseal_pans(db: Session, vault: PanVault, *, limit: int = 500) -> int:
    """Key rotation: re-encrypt up to ``limit`` PANs sealed under a key other
    than the current one (the fingerprint stays: its key is not rotated here).
    Returns how many; run until 0, then the old key can leave ``wallet.pan_keys``."""
    current = vault.keys.current_id
    rows = list(db.scalars(select(KycRecord).where(KycRecord.pan_key_id != current)
                           .order_by(KycRecord.user_id).limit(limit)
                           .with_for_update(key_share=True)))
    for row in rows:
        sealed = vault.reseal(row.pan_key_id, row.pan_ciphertext, user_id=row.user_id)
        row.pan_ciphertext, row.pan_key_id = sealed.ciphertext, sealed.key_id
    db.flush()
    return len(rows)
