"""Payment receipts that cannot be faked: every completed shop payment and
transfer has a receipt signed by the wallet (Ed25519, wallet.money.receipt_keys),
shown to the payer as a QR code and text. A shop's counter (the merchant app's
/verify), or anyone offline with the published keys, checks it: a screenshot of
a "payment successful" screen proves nothing, a receipt does.

The receipt is made from the committed transaction whenever it is shown (Ed25519
signatures are deterministic: the same transaction gives the same receipt), so
the money path writes and reads nothing more.

Format (version 1; docs/receipts.md is its reference)::

    WR1.<base64url, no padding, of payload || signature (64 bytes)>

    payload: u8 version (1)
             str key id                 (str: u8 byte length, then the bytes)
             str kind                   ("payment": to a shop; "transfer": to a person)
             u64 transaction id         (big-endian; shown as TXN00000042)
             u64 amount in paise
             i64 time, Unix seconds UTC (when the payment was made)
             str payee name             (UTF-8: the store's name, or the person's)
             str payee reference        (UTF-8: "@store-handle", or the masked phone)
             str payer                  (UTF-8: the payer's masked phone)
    signature: Ed25519 over b"WR1." + payload
"""
from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from ledgerlib import format_paise

from ..core import codes
from ..core.models import MerchantStore, Transaction
from .receipt_keys import KeyStatus, PublicReceiptKey, ReceiptKeyRing, b64url, unb64url

__all__ = ["PREFIX", "IssuedReceipt", "ReceiptFacts", "Receipts", "Refusal", "Verified",
           "issue_receipt", "verify_receipt"]

PREFIX = "WR1."
VERSION = 1
SIGNATURE_BYTES = 64
KINDS = (codes.Kind.PAYMENT, codes.Kind.TRANSFER)
#: Longer is not a receipt (a version-1 receipt is at most about 1.1 KB).
MAX_TEXT_CHARS = 2000
#: Clocks differ: a receipt dated this far ahead of ours is still believed.
FUTURE_SKEW = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class ReceiptFacts:
    """What a receipt says."""

    key_id: str
    kind: str
    transaction_id: int
    amount_paise: int
    at: dt.datetime  # UTC, whole seconds
    payee_name: str
    payee_ref: str
    payer: str

    @property
    def reference(self) -> str:
        return f"TXN{self.transaction_id:08d}"

    def summary(self) -> str:
        """``₹250.00 to Chai Point (@chai-point) at 14:32 on 12 Dec 2026 from +91 ••••• 43210``."""
        local = self.at.astimezone(codes.IST)
        return (f"{format_paise(self.amount_paise)} to {self.payee_name} ({self.payee_ref}) "
                f"at {local:%H:%M} on {local.day} {local:%b %Y} from {self.payer}")


@dataclass(frozen=True)
class Verified:
    facts: ReceiptFacts
    key_status: str


@dataclass(frozen=True)
class Refusal:
    #: malformed, unknown_version, unknown_key, bad_signature, future, key_retired,
    #: key_expired
    reason: str
    message: str


@dataclass(frozen=True)
class IssuedReceipt:
    text: str
    facts: ReceiptFacts


def _put(text: str) -> bytes:
    data = text.encode()
    while len(data) > 255:  # (names are at most 80 characters: a clip that never happens)
        text = text[:-1]
        data = text.encode()
    return bytes([len(data)]) + data


def payload_of(facts: ReceiptFacts) -> bytes:
    return b"".join((
        bytes([VERSION]), _put(facts.key_id), _put(facts.kind),
        struct.pack(">QQq", facts.transaction_id, facts.amount_paise,
                    int(facts.at.timestamp())),
        _put(facts.payee_name), _put(facts.payee_ref), _put(facts.payer)))


def issue_receipt(facts: ReceiptFacts, key: Ed25519PrivateKey) -> str:
    payload = payload_of(facts)
    signature = key.sign(PREFIX.encode() + payload)
    return PREFIX + b64url(payload + signature)


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def take(self, n: int) -> bytes:
        if self.at + n > len(self.data):
            raise ValueError("too short")
        chunk = self.data[self.at:self.at + n]
        self.at += n
        return chunk

    def text(self) -> str:
        return self.take(self.take(1)[0]).decode()  # (strict UTF-8: ValueError)


def parse_payload(payload: bytes) -> ReceiptFacts:
    """The facts of a version-1 payload; ValueError if it is not exactly one."""
    read = _Reader(payload)
    if read.take(1)[0] != VERSION:
        raise ValueError("version")
    key_id, kind = read.text(), read.text()
    transaction_id, amount_paise, seconds = struct.unpack(">QQq", read.take(24))
    payee_name, payee_ref, payer = read.text(), read.text(), read.text()
    if read.at != len(payload) or kind not in KINDS or amount_paise <= 0:
        raise ValueError("shape")
    at = dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
    return ReceiptFacts(key_id, kind, transaction_id, amount_paise, at, payee_name,
                        payee_ref, payer)


NOT_A_RECEIPT = "This is not a wallet receipt (or it was changed)."


def verify_receipt(text: str, keys: Iterable[PublicReceiptKey],
                   now: dt.datetime) -> Verified | Refusal:
    """Whether ``text`` is a genuine receipt, with only the public ``keys``
    (the ring's, or a published document's: receipt_keys.keys_from_jwks) and
    the time ``now``. Any change to any character refuses it."""
    text = text.strip()
    if not text.startswith(PREFIX) or len(text) > MAX_TEXT_CHARS:
        return Refusal("malformed", NOT_A_RECEIPT)
    try:
        data = unb64url(text[len(PREFIX):])
    except ValueError:
        return Refusal("malformed", NOT_A_RECEIPT)
    payload, signature = data[:-SIGNATURE_BYTES], data[-SIGNATURE_BYTES:]
    if len(payload) < 1 or len(signature) != SIGNATURE_BYTES:
        return Refusal("malformed", NOT_A_RECEIPT)
    if payload[0] != VERSION:
        return Refusal("unknown_version", "This receipt is of a format this check does not "
                                          "know.")
    try:
        facts = parse_payload(payload)
    except (ValueError, struct.error, OverflowError, OSError):
        return Refusal("malformed", NOT_A_RECEIPT)
    key = next((k for k in keys if k.key_id == facts.key_id), None)
    if key is None:
        return Refusal("unknown_key", "This receipt is signed with a key the wallet never "
                                      "published.")
    try:
        key.public_key.verify(signature, PREFIX.encode() + payload)
    except InvalidSignature:
        return Refusal("bad_signature", "The signature does not match: this receipt was "
                                        "changed or made up.")
    return _in_time(facts, key, now)


def _in_time(facts: ReceiptFacts, key: PublicReceiptKey,
             now: dt.datetime) -> Verified | Refusal:
    if facts.at > now + FUTURE_SKEW:
        return Refusal("future", "This receipt is dated in the future.")
    if key.status == KeyStatus.RETIRED:
        if key.retired_at is None or facts.at >= key.retired_at:
            return Refusal("key_retired", "This receipt is signed with a key that was retired "
                                          "before its date.")
        if key.not_after is None or now >= key.not_after:
            return Refusal("key_expired", "This receipt's key was retired and its grace "
                                          "period is over: it can no longer be checked.")
    return Verified(facts, str(key.status))


class Receipts:
    """The wallet's receipts: issued for a payer's completed payments and
    transfers, checked against the ring's public keys."""

    def __init__(self, dbsession: Session, *, keys: ReceiptKeyRing | None,
                 clock: Callable[[], dt.datetime]):
        self.db = dbsession
        self.keys = keys
        self.clock = clock

    def facts_of(self, tx: Transaction, key_id: str) -> ReceiptFacts | None:
        """What the receipt of ``tx`` says; None if it gets none (not a
        completed payment or transfer from a person)."""
        if tx.kind not in KINDS or tx.status != codes.Status.COMPLETED or tx.payer is None:
            return None
        if tx.payee is not None:
            payee_name, payee_ref = tx.payee.name, tx.payee.masked_phone
        elif tx.payee_merchant is not None:
            # The store paid at; none named: the shop's first store, made with its name
            # and handle (so no query for it).
            store = (self.db.get(MerchantStore, tx.payee_store_id)
                     if tx.payee_store_id is not None else None)
            payee_name = store.name if store else tx.payee_merchant.name
            payee_ref = "@" + (store.handle if store else tx.payee_merchant.handle)
        else:
            return None
        return ReceiptFacts(key_id, str(tx.kind), tx.id, tx.amount_paise,
                            tx.created_at.astimezone(dt.timezone.utc).replace(microsecond=0),
                            payee_name, payee_ref, tx.payer.masked_phone)

    def for_transaction(self, tx: Transaction) -> IssuedReceipt | None:
        """The receipt of ``tx`` (signed with the active key), or None."""
        if self.keys is None:  # (development without keys: no receipts)
            return None
        facts = self.facts_of(tx, self.keys.active_id)
        if facts is None:
            return None
        return IssuedReceipt(issue_receipt(facts, self.keys.active_key), facts)

    def for_payer(self, user_id: int, transaction_id: int) -> IssuedReceipt | None:
        """The receipt of one of ``user_id``'s payments (None if not theirs)."""
        tx = self.db.get(Transaction, transaction_id)
        return None if tx is None or tx.payer_user_id != user_id else self.for_transaction(tx)

    def verify(self, text: str) -> Verified | Refusal:
        if self.keys is None:
            return Refusal("unknown_key", "Receipts cannot be checked here: no keys are "
                                          "configured.")
        return verify_receipt(text, self.keys.public_keys(), self.clock())

    def paid_to(self, facts: ReceiptFacts, merchant_id: int) -> Transaction | None:
        """The payment a genuine receipt names, if it was paid to this shop
        (its id, amount and shop agree); None otherwise."""
        tx = self.db.get(Transaction, facts.transaction_id)
        if (tx is None or tx.kind != codes.Kind.PAYMENT or tx.payee_merchant_id != merchant_id
                or tx.amount_paise != facts.amount_paise):
            return None
        return tx
