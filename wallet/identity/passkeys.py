"""Passkeys: signing in with a WebAuthn credential instead of the password.

Both ceremonies run in two steps. The server hands out options with a fresh
challenge (:meth:`Passkeys.registration_options`, :meth:`sign_in_options`),
the browser has the authenticator sign it, and the answer comes back
(:meth:`register`, :meth:`sign_in`) with the challenge the caller kept for
that browser. The rules:

- a challenge is used once: its row (``passkey_challenges``, the SHA-256
  only) is deleted before the answer is looked at, so a replayed answer, or
  a second answer to one challenge, finds none; it expires after
  ``PasskeyPolicy.challenge_ttl_s`` (5 minutes) and is bound to its purpose
  and, for adding a passkey, to its user;
- the answer is checked by py_webauthn against our relying party id and
  origin, with user verification required (a PIN, a fingerprint on the
  device: a passkey is a whole sign-in, not a second factor);
- the authenticator's signature counter must rise (when it counts at all);
  it is written with a compare-and-set, so two sign-ins racing with one
  counter value cannot both pass;
- a removed passkey is gone from ``passkeys``: its answers find nothing.

Removing one needs the PIN or the password; adding or removing one is told
to the user (a notification), as a password change would be noticed.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import webauthn
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from webauthn.helpers import (
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from ..core.codes import PasskeyPurpose, utcnow
from ..core.models import User
from ..core.notifications import Notice, notify
from ..core.text import is_ordinary
from .accounts import AccountService
from .errors import PasskeyError
from .models import Passkey, PasskeyChallenge
from .passkey_policy import PasskeyPolicy
from .pins import Pins

__all__ = ["Ceremony", "MAX_CREDENTIAL_CHARS", "MAX_NAME_CHARS", "PasskeyPolicy", "Passkeys"]

#: What a browser's answer may weigh (a credential id is at most 1023 bytes,
#: a public key a few hundred; attestation statements are asked "none").
MAX_CREDENTIAL_CHARS = 16_000
MAX_NAME_CHARS = 60
CHALLENGE_BYTES = 32
_TRANSPORTS = {t.value for t in AuthenticatorTransport}
_FAILED = "That passkey did not work. Try again, or sign in with your password."


@dataclass(frozen=True)
class Ceremony:
    """Options for the browser (JSON, binary values base64url) and the
    challenge in them, for the caller to keep for this browser."""

    options_json: str
    challenge: bytes


def _sha256(challenge: bytes) -> str:
    return hashlib.sha256(challenge).hexdigest()


class Passkeys:
    def __init__(self, dbsession: Session, *, policy: PasskeyPolicy, accounts: AccountService,
                 pins: Pins, clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.policy = policy
        self.accounts = accounts
        self.pins = pins
        self.clock = clock

    # ---------------------------------------------------------------- listing

    def of_user(self, user: User) -> list[Passkey]:
        return list(self.db.scalars(select(Passkey).where(Passkey.user_id == user.id)
                                    .order_by(Passkey.id)))

    def _owned(self, user: User, passkey_id: int) -> Passkey:
        found = self.db.scalar(select(Passkey).where(Passkey.id == passkey_id,
                                                     Passkey.user_id == user.id))
        if found is None:
            raise PasskeyError("No such passkey: it may have been removed already.")
        return found

    # --------------------------------------------------------------- adding one

    def registration_options(self, user: User) -> Ceremony:
        """Options to make a passkey for ``user`` on this device: a
        discoverable credential, user verification required, none of the
        user's passkeys made again on an authenticator that has one."""
        mine = self.of_user(user)
        if len(mine) >= self.policy.max_per_user:
            raise PasskeyError(f"You have {len(mine)} passkeys, the most you may keep: remove "
                               "one you no longer use first.")
        handle = mine[0].user_handle if mine else secrets.token_bytes(32)
        challenge = self._issue(PasskeyPurpose.REGISTER, user.id, handle)
        options = webauthn.generate_registration_options(
            rp_id=self.policy.rp_id, rp_name=self.policy.rp_name,
            user_id=handle, user_name=user.phone, user_display_name=user.name,
            challenge=challenge, timeout=int(self.policy.challenge_ttl_s * 1000),
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.REQUIRED),
            exclude_credentials=[self._descriptor(p) for p in mine])
        return Ceremony(webauthn.options_to_json(options), challenge)

    def register(self, user: User, credential_json: str, name: str, challenge: bytes, *,
                 pin: str, password: str = "", ip: str = "") -> Passkey:
        """Keep the passkey the browser made for ``challenge`` (used up
        whatever the outcome: commit a refusal too), named ``name``, given the
        user's PIN or password: a session alone (a borrowed browser, a stolen
        cookie) must not add a way in that outlives a password reset."""
        self._approve(user, pin, password, ip, "add")
        name = self._clean_name(name) if (name or "").strip() else ""
        handle = self._consume(challenge, PasskeyPurpose.REGISTER, user.id)
        try:
            credential = parse_registration_credential_json(self._bounded(credential_json))
            verified = webauthn.verify_registration_response(
                credential=credential, expected_challenge=challenge,
                expected_rp_id=self.policy.rp_id, expected_origin=self.policy.origin,
                require_user_verification=True)
        except (WebAuthnException, ValueError, KeyError, TypeError):
            raise PasskeyError("That passkey could not be added. Try again.") from None
        mine = self.of_user(user)
        if len(mine) >= self.policy.max_per_user:
            raise PasskeyError("You have the most passkeys you may keep: remove one first.")
        transports = [t.value for t in (credential.response.transports or [])
                      if t.value in _TRANSPORTS]
        now = self.clock()
        passkey = Passkey(user_id=user.id, credential_id=verified.credential_id,
                          public_key=verified.credential_public_key,
                          sign_count=verified.sign_count, transports=",".join(transports)[:100],
                          user_handle=handle or secrets.token_bytes(32),
                          name=name or f"Passkey {len(mine) + 1}", created_at=now,
                          last_used_at=None)
        try:
            with self.db.begin_nested():
                self.db.add(passkey)
                self.db.flush()
        except IntegrityError:
            raise PasskeyError("That passkey is already registered.") from None
        notify(self.db, user.id, Notice.PASSKEY_ADDED,
               f"A passkey “{passkey.name}” was added to your wallet. Not you? Remove it "
               "from your passkeys and change your password.", now=now)
        return passkey

    # ------------------------------------------------------------- signing in

    def sign_in_options(self) -> Ceremony:
        """Options to sign in with any of this site's passkeys the device has
        (discoverable credentials: nobody's number is typed or revealed)."""
        challenge = self._issue(PasskeyPurpose.SIGN_IN, None, None)
        options = webauthn.generate_authentication_options(
            rp_id=self.policy.rp_id, challenge=challenge,
            timeout=int(self.policy.challenge_ttl_s * 1000),
            user_verification=UserVerificationRequirement.REQUIRED)
        return Ceremony(webauthn.options_to_json(options), challenge)

    def sign_in(self, credential_json: str, challenge: bytes) -> User:
        """The user whose passkey signed ``challenge`` (used up whatever the
        outcome: commit a refusal too), its counter and last use recorded."""
        self._consume(challenge, PasskeyPurpose.SIGN_IN, None)
        try:
            credential = parse_authentication_credential_json(self._bounded(credential_json))
        except (WebAuthnException, ValueError, KeyError, TypeError):
            raise PasskeyError(_FAILED) from None
        passkey = self.db.scalar(select(Passkey).where(
            Passkey.credential_id == credential.raw_id))
        if passkey is None:
            raise PasskeyError("That passkey is not registered with us (was it removed?). "
                               "Sign in with your password.")
        handle = credential.response.user_handle
        if handle is not None and handle != passkey.user_handle:
            raise PasskeyError(_FAILED)
        try:
            verified = webauthn.verify_authentication_response(
                credential=credential, expected_challenge=challenge,
                expected_rp_id=self.policy.rp_id, expected_origin=self.policy.origin,
                credential_public_key=passkey.public_key,
                credential_current_sign_count=passkey.sign_count,
                require_user_verification=True)
        except (WebAuthnException, ValueError, KeyError, TypeError):
            raise PasskeyError(_FAILED) from None
        # Compare-and-set: a twin answer verified against the same count loses.
        moved = self.db.execute(
            update(Passkey).where(Passkey.id == passkey.id,
                                  Passkey.sign_count == passkey.sign_count)
            .values(sign_count=verified.new_sign_count, last_used_at=self.clock())
            .execution_options(synchronize_session=False))
        if not getattr(moved, "rowcount", 0):
            raise PasskeyError(_FAILED)
        user = self.db.get(User, passkey.user_id)
        if user is None or not user.is_active:
            raise PasskeyError(_FAILED)
        return user

    # ------------------------------------------------------------ its upkeep

    def rename(self, user: User, passkey_id: int, name: str) -> Passkey:
        passkey = self._owned(user, passkey_id)
        passkey.name = self._clean_name(name)
        return passkey

    def remove(self, user: User, passkey_id: int, *, pin: str, password: str, ip: str) -> None:
        """Remove one of ``user``'s passkeys, given their PIN or password
        (a wrong one counted as it is everywhere: commit the refusal)."""
        passkey = self._owned(user, passkey_id)
        self._approve(user, pin, password, ip, "remove")
        self.db.execute(delete(Passkey).where(Passkey.id == passkey.id)
                        .execution_options(synchronize_session=False))
        notify(self.db, user.id, Notice.PASSKEY_REMOVED,
               f"The passkey “{passkey.name}” was removed from your wallet: it no longer "
               "signs you in.", now=self.clock())

    # -------------------------------------------------------------- internals

    def _approve(self, user: User, pin: str, password: str, ip: str, verb: str) -> None:
        """The PIN or the password (a wrong one counted as everywhere)."""
        if (pin or "").strip():
            self.pins.approve(user, pin)
        elif password:
            self.accounts.confirm_password(user, password, ip)
        else:
            raise PasskeyError(f"Enter your PIN or your password to {verb} a passkey.", "pin")

    def _issue(self, purpose: PasskeyPurpose, user_id: int | None,
               user_handle: bytes | None) -> bytes:
        now = self.clock()
        # Expired ones go as new ones come (an index on expires_at): no sweeper needed.
        self.db.execute(delete(PasskeyChallenge).where(PasskeyChallenge.expires_at <= now)
                        .execution_options(synchronize_session=False))
        challenge = secrets.token_bytes(CHALLENGE_BYTES)
        self.db.add(PasskeyChallenge(
            challenge_sha256=_sha256(challenge), purpose=purpose, user_id=user_id,
            user_handle=user_handle,
            created_at=now, expires_at=now + dt.timedelta(seconds=self.policy.challenge_ttl_s)))
        self.db.flush()
        return challenge

    def _consume(self, challenge: bytes, purpose: PasskeyPurpose,
                 user_id: int | None) -> bytes | None:
        """Delete the challenge's row: one use, by its purpose and user,
        before it expires. Of two answers to it only one finds it. Returns
        the user handle the options gave (a passkey being added)."""
        whose = (PasskeyChallenge.user_id.is_(None) if user_id is None
                 else PasskeyChallenge.user_id == user_id)
        gone = self.db.execute(
            delete(PasskeyChallenge).where(
                PasskeyChallenge.challenge_sha256 == _sha256(challenge or b""),
                PasskeyChallenge.purpose == purpose, whose,
                PasskeyChallenge.expires_at > self.clock())
            .returning(PasskeyChallenge.user_handle)
            .execution_options(synchronize_session=False)).one_or_none()
        if gone is None:
            raise PasskeyError("That passkey request has expired or was used already. "
                               "Try again.")
        handle: bytes | None = gone[0]
        return handle

    @staticmethod
    def _bounded(credential_json: str) -> str:
        if not isinstance(credential_json, str) or not credential_json:
            raise ValueError("no credential")
        if len(credential_json) > MAX_CREDENTIAL_CHARS:
            raise ValueError("credential too large")
        return credential_json

    @staticmethod
    def _clean_name(name: str) -> str:
        name = unicodedata.normalize("NFC", (name or "").strip())
        if not name or len(name) > MAX_NAME_CHARS or not is_ordinary(name):
            raise PasskeyError(f"Name it in up to {MAX_NAME_CHARS} ordinary characters, like "
                               "“My phone”.", "name")
        return name

    @staticmethod
    def _descriptor(passkey: Passkey) -> PublicKeyCredentialDescriptor:
        transports = [AuthenticatorTransport(t) for t in passkey.transports.split(",")
                      if t in _TRANSPORTS]
        return PublicKeyCredentialDescriptor(id=passkey.credential_id,
                                             transports=transports or None)

