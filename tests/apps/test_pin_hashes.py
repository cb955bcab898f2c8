"""Wallet PINs are stored as HMAC-SHA-256 under a server-side key that is not
in the database, versioned so that it can be rotated; bcrypt hashes from
before and hashes under an old key are re-made on the next right entry
(issue #23, item 2). Production refuses missing, short or development keys."""
from __future__ import annotations

import re

import bcrypt
import pytest

import webapp
from wallet.core.errors import WalletError
from wallet.core.models import User
from wallet.identity.errors import PinNotSet, WrongPin
from wallet.identity.models import WalletPin
from wallet.identity.pin_hashes import hash_pin, parse_pin_keys, verify_pin
from wallet.identity.pins import PinPolicy, Pins
from wallet.settings import ConfigurationError, WalletSettings

from ..wallet_helpers import PIN, TEST_PIN_POLICY, make_user
from .test_settings import GOOD_SECRET, ROOT, production

ASHA, RAVI = "+919876543210", "+919812345678"
KEY_1 = "1:the-first-pin-key-" + "abcdefgh" * 3
KEY_2 = "2:the-second-pin-key-" + "stuvwxyz" * 3
STORED = re.compile(r"hmac-sha256\$v(\w+)\$[\w-]{22}\$[\w-]{43}")


def policy(keys: str, current: str) -> PinPolicy:
    return PinPolicy(keys=parse_pin_keys(keys, current, production=True))


def stored_hash(db, user_id: int) -> str:
    with db() as session:
        return session.get(WalletPin, user_id).pin_hash


def approve(db, user_id: int, pin: str, pin_policy: PinPolicy = TEST_PIN_POLICY):
    """The approval, or the refusal (committed either way, as the pages do)."""
    with db() as session, session.begin():
        try:
            return Pins(session, policy=pin_policy).approve(session.get(User, user_id), pin)
        except WalletError as exc:
            return exc


def test_a_stored_pin_hash_is_keyed_salted_and_never_holds_the_pin(db):
    users = {make_user(db, ASHA, "Asha", pin="246810"): "246810",
             make_user(db, RAVI, "Ravi", pin="246810"): "246810",
             make_user(db, "+919800000003", "Meera", pin="8642"): "8642"}
    hashes = {user_id: stored_hash(db, user_id) for user_id in users}
    for user_id, pin in users.items():
        found = STORED.fullmatch(hashes[user_id])
        assert found and found.group(1) == "t1" and pin not in hashes[user_id]
    assert len(set(hashes.values())) == 3  # the same PIN, each with a salt of its own
    some = next(iter(hashes.values()))
    other_key = parse_pin_keys("t1:" + "another-key-of-the-same-id-" + "q" * 8, "t1",
                               production=False)
    assert not verify_pin("246810", some, other_key).matches  # useless without the key
    assert verify_pin("246810", some, TEST_PIN_POLICY.keys).matches


def test_a_bcrypt_pin_hash_is_replaced_on_the_next_right_pin(db):
    asha = make_user(db, ASHA, "Asha")
    with db() as session, session.begin():
        session.get(WalletPin, asha).pin_hash = bcrypt.hashpw(
            PIN.encode(), bcrypt.gensalt(4)).decode()
    assert isinstance(approve(db, asha, "2468"), WrongPin)
    assert stored_hash(db, asha).startswith("$2b$")  # a wrong PIN changes nothing
    assert approve(db, asha, PIN).user_id == asha
    assert STORED.fullmatch(stored_hash(db, asha)).group(1) == "t1"
    assert approve(db, asha, PIN).user_id == asha  # and the new hash works


def test_rotating_the_pin_key(db):
    """Key 1, then keys 1 and 2 with 2 current (a hash under 1 still works and
    is re-made under 2 on the next right PIN), then key 2 alone."""
    asha = make_user(db, ASHA, "Asha", pin=None)
    ravi = make_user(db, RAVI, "Ravi", pin=None)
    with db() as session, session.begin():
        for user_id in (asha, ravi):
            Pins(session, policy=policy(KEY_1, "1")).set_first(session.get(User, user_id), PIN, PIN)
    assert STORED.fullmatch(stored_hash(db, asha)).group(1) == "1"
    both = policy(f"{KEY_1} {KEY_2}", "2")
    assert isinstance(approve(db, asha, "2468", both), WrongPin)
    assert STORED.fullmatch(stored_hash(db, asha)).group(1) == "1"
    assert approve(db, asha, PIN, both).user_id == asha
    assert STORED.fullmatch(stored_hash(db, asha)).group(1) == "2"
    only_2 = policy(KEY_2, "2")
    assert approve(db, asha, PIN, only_2).user_id == asha
    # Ravi never paid while both keys were there: his PIN cannot be checked
    # any more, and he is told to set it again (never a 500, never "wrong").
    refused = approve(db, ravi, PIN, only_2)
    assert isinstance(refused, PinNotSet) and "reset it with your password" in str(refused)


def test_hashing_needs_a_key():
    with pytest.raises(ConfigurationError, match="wallet.pin_keys"):
        from wallet.identity.pins import hash_new_pin
        hash_new_pin("2580", "2580", None)
    keys = parse_pin_keys(KEY_1, "", production=True)  # the one key is the current one
    assert STORED.fullmatch(hash_pin("2580", keys)).group(1) == "1"


@pytest.mark.parametrize(("keys", "current", "problem"), [
    ("", "1", "required"),
    ("1:short", "1", "shorter than 32"),
    ("1:development-only-pin-key-never-use-in-production", "1", "development value"),
    ("1:" + "a" * 40, "1", "shorter than 32"),  # long, but not random
    (KEY_1, "2", "not among"),
    (f"{KEY_1} {KEY_2}", "", "not among"),  # two keys: say which is current
    ("no-colon-" + "x" * 32, "1", "id:secret"),
    (f"{KEY_1} {KEY_1}", "1", "twice"),
])
def test_production_refuses_missing_weak_or_unclear_pin_keys(keys, current, problem):
    with pytest.raises(ConfigurationError, match=problem):
        parse_pin_keys(keys, current, production=True)


def test_production_ini_reads_the_pin_keys_from_the_environment(monkeypatch, app_db_url):
    settings = production(monkeypatch, WALLET_DATABASE_URL=app_db_url,
                          WALLET_SESSION_SECRET=GOOD_SECRET,
                          WALLET_PIN_KEYS=f"{KEY_2} {KEY_1}", WALLET_PIN_KEY_ID="2")
    keys = WalletSettings.from_dict(settings).pin_keys
    assert keys is not None and keys.current == "2" and set(keys.secrets) == {"1", "2"}
    with pytest.raises(ConfigurationError, match="WALLET_PIN_KEYS"):
        production(monkeypatch, WALLET_DATABASE_URL=app_db_url,
                   WALLET_SESSION_SECRET=GOOD_SECRET, WALLET_PIN_KEYS="")
    weak = production(monkeypatch, WALLET_DATABASE_URL=app_db_url,
                      WALLET_SESSION_SECRET=GOOD_SECRET, WALLET_PIN_KEYS="1:short")
    with pytest.raises(ConfigurationError, match="wallet.pin_keys"):
        webapp.main({}, **weak)


def test_the_user_app_needs_pin_keys_and_development_has_a_dev_only_one(web_settings):
    without = {k: v for k, v in web_settings.items() if not k.startswith("wallet.pin_key")}
    with pytest.raises(ConfigurationError, match="wallet.pin_keys is required"):
        webapp.main({}, **without)
    text = (ROOT / "development.ini").read_text()
    dev_keys = re.search(r"^wallet\.pin_keys = (.+)$", text, re.M).group(1)
    assert "development-only" in dev_keys
    parse_pin_keys(dev_keys, "dev1", production=False)
    with pytest.raises(ConfigurationError, match="development value"):
        parse_pin_keys(dev_keys, "dev1", production=True)
