"""Signed payment receipts (wallet.money.receipts): genuine ones verify offline
with nothing but the published keys, any change to any character is refused,
retired keys verify only what they signed before retirement and only within
the grace period, unknown keys nothing; the example shop's standalone check
(examples/shop.py: cryptography and the standard library) agrees."""
from __future__ import annotations

import datetime as dt
import importlib.util
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from wallet.core.ini import ConfigurationError
from wallet.money.receipt_keys import (
    KeyStatus,
    PublicReceiptKey,
    ReceiptKeyRing,
    b64url,
    keys_from_jwks,
)
from wallet.money.receipts import (
    PREFIX,
    ReceiptFacts,
    Refusal,
    Verified,
    issue_receipt,
    verify_receipt,
)

UTC = dt.timezone.utc
#: One clock for the whole module: the receipts' times and "now" are both fixed.
PAID_AT = dt.datetime(2026, 12, 12, 9, 2, 5, tzinfo=UTC)  # 14:32 in India
NOW = PAID_AT + dt.timedelta(minutes=1)
SEED_OLD, SEED_NEW, SEED_STRANGER = (bytes(range(i, i + 32)) for i in (1, 40, 90))
RETIRED_AT = dt.datetime(2026, 12, 1, tzinfo=UTC)
GRACE = dt.timedelta(days=30)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shop.py"


def key(seed: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_x(seed: bytes) -> str:
    return b64url(key(seed).public_key().public_bytes_raw())


def ring() -> ReceiptKeyRing:
    """k2 signs; k1 was retired on 1 Dec 2026 (public half only) with 30 days' grace."""
    return ReceiptKeyRing.from_settings({
        "wallet.receipt_signing_keys": f"k2:{b64url(SEED_NEW)}",
        "wallet.receipt_key_id": "k2",
        "wallet.receipt_retired_keys": f"k1:{public_x(SEED_OLD)}:2026-12-01T00:00:00Z",
        "wallet.receipt_key_grace_days": "30"})


def facts(key_id: str = "k2", at: dt.datetime = PAID_AT, **changes) -> ReceiptFacts:
    values = dict(key_id=key_id, kind="payment", transaction_id=42, amount_paise=250_00,
                  at=at, payee_name="Chai Point", payee_ref="@chai-point",
                  payer="+91 ••••• 43210")
    return ReceiptFacts(**{**values, **changes})


def published() -> tuple[PublicReceiptKey, ...]:
    """What an offline verifier holds: the published document, as JSON went over the wire."""
    return keys_from_jwks(json.loads(json.dumps(ring().jwks())))


@pytest.fixture(scope="module")
def shop():
    spec = importlib.util.spec_from_file_location("example_shop", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_genuine_receipt_verifies_offline_with_only_the_published_keys():
    text = issue_receipt(facts(), ring().active_key)
    assert text.startswith(PREFIX) and len(text) < 300  # (a QR code a cheap phone reads)
    outcome = verify_receipt(text, published(), NOW)
    assert outcome == Verified(facts(), "active")
    assert outcome.facts.summary() == ("₹250.00 to Chai Point (@chai-point) at 14:32 on "
                                       "12 Dec 2026 from +91 ••••• 43210")
    assert outcome.facts.reference == "TXN00000042"
    # Deterministic: the same payment, the same receipt (made again at every showing).
    assert issue_receipt(facts(), ring().active_key) == text


def test_the_published_document_is_jwks_like_and_holds_no_private_key():
    document = ring().jwks()
    assert document["keys"] == [
        {"kid": "k2", "kty": "OKP", "crv": "Ed25519", "x": public_x(SEED_NEW), "use": "sig",
         "alg": "EdDSA", "status": "active", "not_after": None},
        {"kid": "k1", "kty": "OKP", "crv": "Ed25519", "x": public_x(SEED_OLD), "use": "sig",
         "alg": "EdDSA", "status": "retired", "not_after": "2026-12-31T00:00:00Z",
         "retired_at": "2026-12-01T00:00:00Z"}]
    assert b64url(SEED_NEW) not in json.dumps(document)
    assert b64url(SEED_NEW) not in repr(ring())


def test_every_single_byte_alteration_of_the_receipt_is_refused():
    text = issue_receipt(facts(), ring().active_key)
    keys = published()
    raw = text.encode("ascii")
    accepted = []
    for position in range(len(raw)):
        for value in range(256):
            if value == raw[position]:
                continue
            altered = (raw[:position] + bytes([value]) + raw[position + 1:]).decode("latin-1")
            if isinstance(verify_receipt(altered, keys, NOW), Verified):
                accepted.append((position, value))
        dropped = (raw[:position] + raw[position + 1:]).decode("ascii")
        if isinstance(verify_receipt(dropped, keys, NOW), Verified):
            accepted.append((position, "dropped"))
    assert accepted == []
    for extra in "A_-=.0":
        assert isinstance(verify_receipt(text + extra, keys, NOW), Refusal)


def test_refusals_say_why():
    keys = published()
    text = issue_receipt(facts(), ring().active_key)
    body = text[len(PREFIX):]
    assert verify_receipt("a fake payment successful screen", keys, NOW).reason == "malformed"
    assert verify_receipt("WR1." + body[:-5], keys, NOW).reason == "malformed"
    assert verify_receipt("WR1.!!" + body, keys, NOW).reason == "malformed"
    # Signed by someone else's key under our key's id: the signature does not match.
    forged = issue_receipt(facts(amount_paise=25_000_00), key(SEED_STRANGER))
    assert verify_receipt(forged, keys, NOW).reason == "bad_signature"
    # Changed facts re-signed by no one: the old signature does not cover them.
    tampered = issue_receipt(facts(amount_paise=2_500_00), ring().active_key)
    mixed = tampered[:-86] + text[-86:]
    assert verify_receipt(mixed, keys, NOW).reason == "bad_signature"
    # Scanned with a line break or spaces around it: still the same receipt.
    assert isinstance(verify_receipt(f"  {text}\n", keys, NOW), Verified)


def test_an_unknown_key_id_is_refused():
    stranger = issue_receipt(facts(key_id="k9"), key(SEED_STRANGER))
    outcome = verify_receipt(stranger, published(), NOW)
    assert outcome.reason == "unknown_key"
    # Our own key, under an id that is not published: refused too.
    renamed = issue_receipt(facts(key_id="k3"), ring().active_key)
    assert verify_receipt(renamed, published(), NOW).reason == "unknown_key"


def test_a_retired_key_verifies_what_it_signed_before_retirement_within_the_grace():
    before = RETIRED_AT - dt.timedelta(days=2)
    old = issue_receipt(facts(key_id="k1", at=before), key(SEED_OLD))
    keys = published()
    within = RETIRED_AT + GRACE - dt.timedelta(seconds=1)
    assert verify_receipt(old, keys, within) == Verified(facts(key_id="k1", at=before),
                                                         "retired")
    assert verify_receipt(old, keys, RETIRED_AT + GRACE).reason == "key_expired"
    assert verify_receipt(old, keys, RETIRED_AT + GRACE * 3).reason == "key_expired"
    # Signed (or claiming to be) after the key was retired: refused, even within the grace.
    late = issue_receipt(facts(key_id="k1", at=RETIRED_AT + dt.timedelta(hours=1)),
                         key(SEED_OLD))
    assert verify_receipt(late, keys, RETIRED_AT + dt.timedelta(days=2)).reason == "key_retired"


def test_a_receipt_dated_in_the_future_is_refused():
    ahead = issue_receipt(facts(at=NOW + dt.timedelta(hours=1)), ring().active_key)
    assert verify_receipt(ahead, published(), NOW).reason == "future"
    skewed = issue_receipt(facts(at=NOW + dt.timedelta(minutes=5)), ring().active_key)
    assert isinstance(verify_receipt(skewed, published(), NOW), Verified)


def test_a_next_key_is_published_ahead_and_verifies():
    rotated = ReceiptKeyRing.from_settings({
        "wallet.receipt_signing_keys": f"k2:{b64url(SEED_NEW)} k3:{b64url(SEED_STRANGER)}",
        "wallet.receipt_key_id": "k2"})
    statuses = {k["kid"]: k["status"] for k in rotated.jwks()["keys"]}
    assert statuses == {"k2": "active", "k3": "next"}
    by_next = issue_receipt(facts(key_id="k3"), key(SEED_STRANGER))
    assert verify_receipt(by_next, keys_from_jwks(rotated.jwks()), NOW).key_status == "next"


def test_the_example_shops_check_agrees_with_the_domains(shop):
    keys, document = published(), json.loads(json.dumps(ring().jwks()))
    before = RETIRED_AT - dt.timedelta(days=2)
    cases = [
        (issue_receipt(facts(), ring().active_key), NOW),
        (issue_receipt(facts(kind="transfer", payee_name="Ravi Kumar",
                             payee_ref="+91 ••••• 11111"), ring().active_key), NOW),
        (issue_receipt(facts(key_id="k1", at=before), key(SEED_OLD)), RETIRED_AT),
        (issue_receipt(facts(key_id="k1", at=before), key(SEED_OLD)), RETIRED_AT + GRACE),
        (issue_receipt(facts(key_id="k1", at=RETIRED_AT), key(SEED_OLD)), RETIRED_AT),
        (issue_receipt(facts(key_id="k9"), key(SEED_STRANGER)), NOW),
        (issue_receipt(facts(key_id="k2"), key(SEED_STRANGER)), NOW),
        (issue_receipt(facts(at=NOW + dt.timedelta(days=1)), ring().active_key), NOW),
        ("not a receipt", NOW),
    ]
    genuine = issue_receipt(facts(), ring().active_key)
    cases += [(genuine[:i] + ("A" if genuine[i] != "A" else "B") + genuine[i + 1:], NOW)
              for i in range(len(genuine))]
    for text, now in cases:
        ours, theirs = verify_receipt(text, keys, now), shop.verify_receipt(text, document, now)
        assert isinstance(ours, Verified) == theirs["genuine"], (text, ours, theirs)
        if isinstance(ours, Verified):
            f = ours.facts
            assert (theirs["amount_paise"], theirs["payee_name"], theirs["payee_ref"],
                    theirs["payer"], theirs["at"], theirs["reference"], theirs["kind"]) == (
                f.amount_paise, f.payee_name, f.payee_ref, f.payer, f.at, f.reference, f.kind)
        else:
            assert ours.reason == theirs["reason"] or ours.reason == "unknown_version"


@pytest.mark.parametrize("settings, problem", [
    ({}, "is required"),
    ({"wallet.receipt_signing_keys": "dev-1:" + b64url(SEED_NEW),
      "wallet.receipt_key_id": "dev-1"}, "development or weak"),
    ({"wallet.receipt_signing_keys": "k1:" + b64url(bytes(32)), "wallet.receipt_key_id": "k1"},
     "development or weak"),
])
def test_production_refuses_missing_development_or_weak_keys(settings, problem):
    with pytest.raises(ConfigurationError, match=problem):
        ReceiptKeyRing.from_settings({"wallet.environment": "production", **settings})


@pytest.mark.parametrize("settings, problem", [
    ({"wallet.receipt_signing_keys": "k1:bm90IGEga2V5", "wallet.receipt_key_id": "k1"},
     "not an Ed25519 private key"),
    ({"wallet.receipt_signing_keys": "k1:" + b64url(SEED_NEW), "wallet.receipt_key_id": "k2"},
     "must name one of the keys"),
    ({"wallet.receipt_signing_keys": f"k1:{b64url(SEED_NEW)} k1:{b64url(SEED_OLD)}",
      "wallet.receipt_key_id": "k1"}, "not a valid key id"),
    ({"wallet.receipt_signing_keys": "k1:" + b64url(SEED_NEW), "wallet.receipt_key_id": "k1",
      "wallet.receipt_retired_keys": f"k1:{public_x(SEED_OLD)}:2026-12-01T00:00:00Z"},
     "not a valid key id"),
    ({"wallet.receipt_signing_keys": "k1:" + b64url(SEED_NEW), "wallet.receipt_key_id": "k1",
      "wallet.receipt_retired_keys": f"k0:{public_x(SEED_OLD)}:yesterday"}, "retired_at"),
    ({"wallet.receipt_signing_keys": "k1:" + b64url(SEED_NEW), "wallet.receipt_key_id": "k1",
      "wallet.receipt_key_grace_days": "-1"}, "whole number of days"),
])
def test_malformed_key_settings_stop_the_start(settings, problem):
    with pytest.raises(ConfigurationError, match=problem):
        ReceiptKeyRing.from_settings(settings)


def test_keys_may_be_given_as_pkcs8_der_and_none_outside_production_means_no_receipts():
    from cryptography.hazmat.primitives import serialization

    der = key(SEED_NEW).private_bytes(serialization.Encoding.DER,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
    import base64

    from_der = ReceiptKeyRing.from_settings({
        "wallet.receipt_signing_keys": "k2:" + base64.b64encode(der).decode(),
        "wallet.receipt_key_id": "k2"})
    assert from_der.public_keys()[0].public_bytes == key(SEED_NEW).public_key().public_bytes_raw()
    assert ReceiptKeyRing.from_settings({}) is None
    assert ReceiptKeyRing.from_settings({"wallet.environment": "test"}) is None


def test_a_retired_entry_without_its_dates_verifies_nothing():
    document = ring().jwks()
    for entry in document["keys"]:
        entry.pop("retired_at", None)
    assert [k.key_id for k in keys_from_jwks(document)] == ["k2"]
    assert [k.status for k in published()] == [KeyStatus.ACTIVE, KeyStatus.RETIRED]
