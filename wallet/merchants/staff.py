"""The people of a shop: each signs in to the merchant app with a login of
their own (an email or a phone, and a password) and a role
(wallet.merchants.roles): owner, manager (their stores) or cashier (its
store). The shop's own login (``merchants.email``) stays its owner.

An owner invites a person by email or phone with a role and stores: the
invitation's link carries a single-use token (kept as its SHA-256; no e-mail
is sent: the owner's page shows the link once, and in development the shop's
notices keep it too). The person opens it and sets a password; from then on
they sign in on the shop's log-in page. Changing a role or stores takes effect
at their next request (read with their session); removing someone ends their
sessions at once.

What a person does that matters -- a refund, a settlement, a key, a setting,
a change of staff -- is kept in ``merchant_staff_actions`` with who did it
(:meth:`StaffService.record_action`; the pages call it)."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager

from ..core.codes import StaffStatus, utcnow
from ..core.credentials import new_secret, secret_sha256
from ..core.models import (
    Merchant,
    MerchantStaff,
    MerchantStaffAction,
    MerchantStaffStore,
    MerchantStore,
)
from ..core.notifications import MerchantNotice, notify_merchant
from ..core.phone import InvalidPhone, normalize_phone
from ..core.text import is_ordinary
from ..identity.accounts import AccountService
from ..identity.errors import AccountError
from ..identity.passwords import password_problem
from ..identity.web_sessions import EndReason, PrincipalKind, WebSessions
from .errors import StaffError, StaffNotFound
from .roles import Permission, Role, role_permits

__all__ = ["INVITE_TTL_S", "Invitation", "ShopActor", "SignedIn", "StaffAction", "StaffMember",
           "StaffPolicy", "StaffService"]

#: How long an invitation's link works.
INVITE_TTL_S = 7 * 24 * 3600
MAX_NAME_CHARS = 80
#: At most this many shops' people share one login (each password is tried).
MAX_LOGINS_SHARED = 5
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", re.ASCII)
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}", re.ASCII)
_ACTION = re.compile(r"[a-z][a-z0-9_.]{0,39}", re.ASCII)


class StaffAction(StrEnum):
    """``merchant_staff_actions.action``: what was done (other parts of the
    merchant app add their own words: the column has no CHECK)."""

    REFUND = "refund"
    SETTLEMENT = "settlement"
    KEY_CREATED = "api_key.created"
    KEY_REVOKED = "api_key.revoked"
    SETTINGS = "settings.changed"
    BANK_ACCOUNT_ADDED = "bank_account.added"
    BANK_ACCOUNT_REMOVED = "bank_account.removed"
    PIN_CHANGED = "shop_pin.changed"
    WEBHOOK_CHANGED = "webhook.changed"
    DISPUTE_ANSWERED = "dispute.answered"
    STAFF_INVITED = "staff.invited"
    STAFF_JOINED = "staff.joined"
    STAFF_CHANGED = "staff.changed"
    STAFF_REMOVED = "staff.removed"


@dataclass(frozen=True)
class StaffPolicy:
    invite_ttl_s: float
    #: Development: the invitation's link is written into the shop's notices
    #: too (no e-mail is sent anywhere); production keeps it out of the database.
    links_in_notices: bool


@dataclass(frozen=True)
class ShopActor:
    """Who of a shop is acting: the shop's own login (``staff_id`` None, an
    owner) or a person of it, with their role and stores."""

    merchant_id: int
    staff_id: int | None
    role: str
    #: None: every store (an owner); else the stores' ids (may be empty).
    store_ids: frozenset[int] | None
    name: str

    @classmethod
    def shop_login(cls, merchant: Merchant) -> ShopActor:
        return cls(merchant.id, None, Role.OWNER, None, merchant.name)

    @classmethod
    def of_staff(cls, staff: MerchantStaff) -> ShopActor:
        """From a person read with their session (their stores with them)."""
        if staff.role == Role.OWNER:
            return cls(staff.merchant_id, staff.id, staff.role, None, staff.name)
        ids = frozenset(int(part) for part in (staff.store_list or "").split(",") if part)
        return cls(staff.merchant_id, staff.id, staff.role, ids, staff.name)

    def may(self, permission: str) -> bool:
        return role_permits(self.role, permission)


@dataclass(frozen=True)
class Invitation:
    staff: MerchantStaff
    token: str  # for the link only: never stored
    link: str


@dataclass(frozen=True)
class StaffMember:
    """A line of the owner's list of people."""

    staff: MerchantStaff
    stores: list[MerchantStore]


@dataclass(frozen=True)
class SignedIn:
    """Who signed in: the shop's own login or a person of a shop."""

    kind: str  # PrincipalKind.MERCHANT or PrincipalKind.STAFF
    principal_id: int
    merchant: Merchant
    staff: MerchantStaff | None


@dataclass(frozen=True)
class _Fields:
    name: str
    email: str | None
    phone: str | None
    role: Role
    store_ids: frozenset[int]


class StaffService:
    def __init__(self, dbsession: Session, *, accounts: AccountService, policy: StaffPolicy,
                 clock: Callable[[], dt.datetime] = utcnow):
        self.db = dbsession
        self.accounts = accounts
        self.policy = policy
        self.clock = clock

    # ------------------------------------------------------------- reading

    def people(self, merchant_id: int) -> list[StaffMember]:
        """The shop's people, the removed last, each with their stores."""
        staff = list(self.db.scalars(select(MerchantStaff).where(
            MerchantStaff.merchant_id == merchant_id).order_by(MerchantStaff.id)))
        links = self.db.execute(
            select(MerchantStaffStore.staff_id, MerchantStore)
            .join(MerchantStore, MerchantStore.id == MerchantStaffStore.store_id)
            .join(MerchantStaff, MerchantStaff.id == MerchantStaffStore.staff_id)
            .where(MerchantStaff.merchant_id == merchant_id).order_by(MerchantStore.id)).all()
        stores: dict[int, list[MerchantStore]] = {}
        for staff_id, store in links:
            stores.setdefault(staff_id, []).append(store)
        staff.sort(key=lambda s: s.status == StaffStatus.REMOVED)
        return [StaffMember(s, stores.get(s.id, [])) for s in staff]

    def stores(self, merchant_id: int) -> list[MerchantStore]:
        """The shop's open stores (what a person may be given)."""
        return list(self.db.scalars(select(MerchantStore).where(
            MerchantStore.merchant_id == merchant_id, MerchantStore.closed_at.is_(None))
            .order_by(MerchantStore.id)))

    def actions(self, merchant_id: int, limit: int = 50) -> list[MerchantStaffAction]:
        return list(self.db.scalars(select(MerchantStaffAction).where(
            MerchantStaffAction.merchant_id == merchant_id)
            .order_by(MerchantStaffAction.id.desc()).limit(limit)))

    def names(self, merchant_id: int) -> dict[int, str]:
        """Each person's name by id (for the list of actions)."""
        return {row[0]: row[1] for row in self.db.execute(
            select(MerchantStaff.id, MerchantStaff.name)
            .where(MerchantStaff.merchant_id == merchant_id))}

    def invitation(self, token: object) -> MerchantStaff:
        """The person a live invitation's token names, or StaffNotFound (an
        unknown, used or expired link: the same answer)."""
        if not isinstance(token, str) or not _TOKEN.fullmatch(token):
            raise StaffNotFound("This invitation link does not work (used, expired or "
                                "mistyped). Ask the shop's owner for a new one.")
        staff = self.db.scalar(
            select(MerchantStaff).join(MerchantStaff.merchant)
            .options(contains_eager(MerchantStaff.merchant))
            .where(MerchantStaff.invite_token_sha256 == secret_sha256(token),
                   MerchantStaff.status == StaffStatus.INVITED)
            .with_for_update(of=MerchantStaff, key_share=True))
        if (staff is None or staff.invite_expires_at is None
                or staff.invite_expires_at <= self.clock() or not staff.merchant.is_active):
            raise StaffNotFound("This invitation link does not work (used, expired or "
                                "mistyped). Ask the shop's owner for a new one.")
        return staff

    # ------------------------------------------------------------ changing

    def invite(self, actor: ShopActor, name: str, email: str, phone: str, role: str,
               store_ids: Iterable[str], link_of: Callable[[str], str]) -> Invitation:
        """A new person (or one removed before, or invited and not come yet,
        invited again): a fresh single-use link."""
        _require(actor, Permission.STAFF)
        fields = self._fields(actor.merchant_id, name, email, phone, role, store_ids)
        staff = self._reusable(actor.merchant_id, fields)
        token = new_secret("")
        now = self.clock()
        try:
            with self.db.begin_nested():  # another owner may invite the same person now
                if staff is None:
                    staff = MerchantStaff(merchant_id=actor.merchant_id, created_at=now)
                    self.db.add(staff)
                staff.name, staff.email, staff.phone, staff.role = (
                    fields.name, fields.email, fields.phone, fields.role)
                staff.status, staff.password_hash = StaffStatus.INVITED, None
                staff.removed_at = None
                staff.invite_token_sha256 = secret_sha256(token)
                staff.invite_expires_at = now + dt.timedelta(seconds=self.policy.invite_ttl_s)
                staff.invited_by = actor.staff_id
                self.db.flush()
        except IntegrityError:
            raise StaffError("That person was invited a moment ago: reload the page.",
                             "email" if fields.email else "phone") from None
        self._set_stores(staff, fields.store_ids)
        link = link_of(token)
        text = f"{fields.name} was invited as {fields.role} by {actor.name}."
        if self.policy.links_in_notices:
            text += f" Their link (development: no e-mail is sent): {link}"
        notify_merchant(self.db, actor.merchant_id, MerchantNotice.STAFF_INVITED, text, now=now)
        self.record_action(actor, StaffAction.STAFF_INVITED, fields.name,
                           self._summary(fields.role, fields.store_ids))
        return Invitation(staff, token, link)

    def accept(self, token: object, password: str, repeat: str) -> MerchantStaff:
        """The invited person sets their password: active from now; the link
        works no more."""
        staff = self.invitation(token)
        personal = (staff.name, staff.email or "", staff.phone or "",
                    (staff.email or "").partition("@")[0])
        weak = password_problem(password, personal)
        if weak:
            raise AccountError(weak, "password")
        if (repeat or "") != password:
            raise AccountError("The two passwords differ: type the same one twice.", "repeat")
        staff.password_hash = self.accounts.hash_password(password)
        staff.status = StaffStatus.ACTIVE
        staff.invite_token_sha256 = staff.invite_expires_at = None
        self.record_action(ShopActor.of_staff(staff), StaffAction.STAFF_JOINED, staff.name)
        return staff

    def change(self, actor: ShopActor, staff_id: int, role: str,
               store_ids: Iterable[str]) -> MerchantStaff:
        """Another role or other stores: at the person's next request."""
        staff = self._other(actor, staff_id)
        fields = self._fields(actor.merchant_id, staff.name, staff.email or "",
                              staff.phone or "", role, store_ids)
        staff.role = fields.role
        self._set_stores(staff, fields.store_ids)
        self.record_action(actor, StaffAction.STAFF_CHANGED, staff.name,
                           self._summary(fields.role, fields.store_ids))
        return staff

    def remove(self, actor: ShopActor, staff_id: int) -> int:
        """The person signs in no more: their sessions end now (how many)."""
        staff = self._other(actor, staff_id)
        staff.status, staff.removed_at = StaffStatus.REMOVED, self.clock()
        staff.password_hash = staff.invite_token_sha256 = staff.invite_expires_at = None
        ended = WebSessions(self.db, policy=None, clock=self.clock).end_all(
            PrincipalKind.STAFF, staff.id, EndReason.ACCOUNT_DISABLED)
        notify_merchant(self.db, actor.merchant_id, MerchantNotice.STAFF_REMOVED,
                        f"{staff.name} was removed by {actor.name}: signed out everywhere.",
                        now=self.clock())
        self.record_action(actor, StaffAction.STAFF_REMOVED, staff.name,
                           f"{ended} session(s) ended")
        return ended

    def record_action(self, actor: ShopActor, action: str, subject: str,
                      detail: str = "") -> MerchantStaffAction:
        """Keep what ``actor`` did (in the caller's transaction: written
        exactly when the action is)."""
        if not _ACTION.fullmatch(action):
            raise ValueError(f"not an action's name: {action!r}")
        row = MerchantStaffAction(merchant_id=actor.merchant_id, staff_id=actor.staff_id,
                                  action=action, subject=(subject or "")[:120],
                                  detail=(detail or "")[:300], at=self.clock())
        self.db.add(row)
        return row

    # ----------------------------------------------------------- signing in

    def authenticate(self, login: str, password: str, ip: str) -> SignedIn:
        """The shop's own login (its email) or a person of a shop (their email
        or phone) for these credentials; AccountError otherwise (LoginThrottled
        after too many failures: throttled as the shop's log-in always was)."""
        login = _login_of(login)
        key = "m:" + hashlib.sha256(login.encode()).hexdigest()[:24]
        self.accounts.check_throttle(key, ip)
        candidates: list[tuple[str | None, SignedIn]] = []
        if "@" in login:
            merchant = self.db.scalar(select(Merchant).where(Merchant.email == login))
            if merchant is not None and merchant.is_active:
                candidates.append((merchant.password_hash, SignedIn(
                    PrincipalKind.MERCHANT, merchant.id, merchant, None)))
        for staff in self.db.scalars(
                select(MerchantStaff).join(MerchantStaff.merchant)
                .options(contains_eager(MerchantStaff.merchant))
                .where(or_(MerchantStaff.email == login, MerchantStaff.phone == login),
                       MerchantStaff.status == StaffStatus.ACTIVE, Merchant.is_active)
                .order_by(MerchantStaff.id).limit(MAX_LOGINS_SHARED)):
            candidates.append((staff.password_hash, SignedIn(
                PrincipalKind.STAFF, staff.id, staff.merchant, staff)))
        found = self._matching(candidates, password)
        if found is None:
            self.accounts.record_failure(key, ip)
            raise AccountError("That login and password do not match.")
        self.accounts.clear_throttle(key)
        if found.staff is not None:
            found.staff.last_sign_in_at = self.clock()
        return found

    def _matching(self, candidates: list[tuple[str | None, SignedIn]],
                  password: str) -> SignedIn | None:
        if not candidates:  # the same cost as a known login's
            self.accounts.check_password(None, password)
        for stored, signed_in in candidates:
            if self.accounts.check_password(stored, password):
                return signed_in
        return None

    def change_password(self, staff: MerchantStaff, current: str, new: str, repeat: str,
                        ip: str, *, keep_session_id: int | None = None) -> int:
        """A person's new password, given the current one (a wrong one is
        throttled and counted); their other sessions end."""
        personal = (staff.name, staff.email or "", staff.phone or "")
        weak = password_problem(new, personal)
        if weak or (repeat or "") != new:
            raise AccountError.of_fields({"password": weak} if weak else {
                "repeat": "The two new passwords differ: type the same one twice."})
        key = f"s:{staff.id}"
        self.accounts.check_throttle(key, ip)
        if not self.accounts.check_password(staff.password_hash, current):
            self.accounts.record_failure(key, ip)
            raise AccountError("That is not your current password.", "current_password")
        self.accounts.clear_throttle(key)
        ended = WebSessions(self.db, policy=None, clock=self.clock).end_others(
            PrincipalKind.STAFF, staff.id, EndReason.PASSWORD_CHANGED,
            keep_session_id=keep_session_id)
        staff.password_hash = self.accounts.hash_password(new)
        return ended

    # ---------------------------------------------------------------- rules

    def _fields(self, merchant_id: int, name: str, email: str, phone: str, role: str,
                store_ids: Iterable[str]) -> _Fields:
        """Every field checked, every problem said at once (nothing written)."""
        problems: dict[str, str] = {}
        name = unicodedata.normalize("NFC", (name or "").strip())
        if not name or len(name) > MAX_NAME_CHARS or not is_ordinary(name):
            problems["name"] = f"Enter their name (up to {MAX_NAME_CHARS} ordinary characters)."
        email_text = (email or "").strip().lower()
        if email_text and (len(email_text) > 254 or not _EMAIL.fullmatch(email_text)):
            problems["email"] = "Enter an email address, like ravi@shop.in."
        phone_text: str | None = None
        if (phone or "").strip():
            try:
                phone_text = normalize_phone(phone)
            except InvalidPhone as exc:
                problems["phone"] = str(exc)
        if not email_text and not (phone or "").strip():
            problems["email"] = "Enter their email or their mobile number (or both)."
        try:
            chosen = Role(role)
        except ValueError:
            problems["role"] = "Choose a role: owner, manager or cashier."
            chosen = Role.CASHIER
        stores = self._store_ids(merchant_id, store_ids, problems)
        if chosen != Role.OWNER and not stores and "stores" not in problems:
            problems["stores"] = "Choose the stores they work at (one at least)."
        if email_text and email_text == self.db.scalar(
                select(Merchant.email).where(Merchant.id == merchant_id)):
            problems["email"] = "That is the shop's own login: use another email."
        if problems:
            raise StaffError.of_fields(problems)
        return _Fields(name, email_text or None, phone_text, chosen,
                       frozenset() if chosen == Role.OWNER else stores)

    def _store_ids(self, merchant_id: int, texts: Iterable[str],
                   problems: dict[str, str]) -> frozenset[int]:
        wanted: set[int] = set()
        for text in list(texts)[:201]:
            if not (isinstance(text, str) and text.isascii() and text.isdigit()
                    and len(text) < 19):
                problems["stores"] = "Choose stores from the list."
                return frozenset()
            wanted.add(int(text))
        if not wanted:
            return frozenset()
        open_ids = set(self.db.scalars(select(MerchantStore.id).where(
            MerchantStore.merchant_id == merchant_id, MerchantStore.closed_at.is_(None),
            MerchantStore.id.in_(wanted))))
        if open_ids != wanted:
            problems["stores"] = "Choose stores from the list (open stores of this shop)."
        return frozenset(open_ids)

    def _reusable(self, merchant_id: int, fields: _Fields) -> MerchantStaff | None:
        """The row this invitation takes over (the same email or phone in
        this shop: removed, or invited and not come yet), or None (a new one)."""
        matches = [MerchantStaff.email == fields.email] if fields.email else []
        if fields.phone:
            matches.append(MerchantStaff.phone == fields.phone)
        rows = list(self.db.scalars(
            select(MerchantStaff).where(MerchantStaff.merchant_id == merchant_id, or_(*matches))
            .with_for_update(key_share=True)))
        if len(rows) > 1:
            raise StaffError("That email and that phone belong to two different people here.",
                             "email")
        if rows and rows[0].status == StaffStatus.ACTIVE:
            raise StaffError(f"{rows[0].name} already works here: change their role instead.",
                             "email" if fields.email else "phone")
        return rows[0] if rows else None

    def _other(self, actor: ShopActor, staff_id: int) -> MerchantStaff:
        """Someone of the actor's shop, not removed, not the actor."""
        _require(actor, Permission.STAFF)
        staff = self.db.scalar(select(MerchantStaff).where(
            MerchantStaff.id == staff_id, MerchantStaff.merchant_id == actor.merchant_id,
            MerchantStaff.status != StaffStatus.REMOVED).with_for_update(key_share=True))
        if staff is None:
            raise StaffNotFound("No such person in this shop.")
        if staff.id == actor.staff_id:
            raise StaffError("You cannot change or remove yourself: ask another owner.")
        return staff

    def _set_stores(self, staff: MerchantStaff, store_ids: frozenset[int]) -> None:
        self.db.execute(delete(MerchantStaffStore).where(MerchantStaffStore.staff_id == staff.id))
        self.db.add_all(MerchantStaffStore(staff_id=staff.id, store_id=store_id)
                        for store_id in sorted(store_ids))

    def _summary(self, role: str, store_ids: frozenset[int]) -> str:
        if not store_ids:
            return f"{role}, every store"
        names = self.db.scalars(select(MerchantStore.name).where(
            MerchantStore.id.in_(store_ids)).order_by(MerchantStore.id))
        return f"{role} at " + ", ".join(names)


def _require(actor: ShopActor, permission: Permission) -> None:
    """The domain's own check (the pages check first): never rely on a page alone."""
    if not actor.may(permission):
        raise StaffError("Only an owner of the shop can do this.")


def _login_of(text: str) -> str:
    """An email (lowercase) or a phone (+91…) as the shop's log-in form gives it."""
    text = (text or "").strip()[:254]
    if "@" in text:
        return text.lower()
    try:
        return normalize_phone(text)
    except InvalidPhone:
        return text[:32]
