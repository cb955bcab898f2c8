"""Issue 23 item 6: one PAN, one full-KYC wallet; the name a person's and the
registry's; the PAN encrypted at rest (versioned keys), fingerprinted for
uniqueness and shown masked everywhere; production refuses the approve-all
verifier and weak or missing PAN keys."""
from __future__ import annotations

import hashlib
import hmac
import pathlib
import re

import pytest
import sqlalchemy as sa
import webtest
from sqlalchemy import select

from wallet.core.models import User
from wallet.identity.errors import KycRefused
from wallet.identity.kyc import ApproveAllVerifier, KycDetails, KycService, reseal_pans
from wallet.identity.models import KycRecord
from wallet.identity.pan_vault import PanKeys, PanVault, mask_pan
from wallet.services import Services
from wallet.settings import ConfigurationError, WalletSettings

from ..conftest import PRODUCTION_KYC_SETTINGS, TEST_PAN_SETTINGS
from ..wallet_helpers import TEST_PAN_VAULT, RegistryStub, login, make_user, pan_of, state
from .test_admin_console import ADMIN_SECRET, add_operator, sign_in

ASHA, RAVI = "+919876543210", "+919812345678"
PAN = "AAAPV1234Q"
DOB = "1990-04-21"


def kyc(app, name: str, pan: str = PAN, date_of_birth: str = DOB, status: int = 303):
    form = app.get("/kyc").forms["kyc-form"]
    form["name_on_pan"], form["pan"], form["date_of_birth"] = name, pan, date_of_birth
    return form.submit(status=status)


def level(db, user_id: int) -> str:
    with db() as session:
        return session.get(User, user_id).kyc_level


def record(db, user_id: int) -> KycRecord | None:
    with db() as session:
        return session.get(KycRecord, user_id)


@pytest.fixture
def asha(db, user_app):
    user_id = make_user(db, ASHA, "Asha", full_kyc=False)
    assert login(user_app, ASHA).status_int == 303
    return user_id


# ------------------------------------------------------------ one PAN, one wallet


def test_one_pan_completes_the_kyc_of_one_wallet_only(user_wsgi, user_app, db, asha):
    kyc(user_app, "Asha Verma")
    assert level(db, asha) == "full"
    # The second wallet: another phone, named <script>, the same PAN and name.
    ravi = make_user(db, RAVI, "<script>alert(1)</script>", full_kyc=False)
    other = webtest.TestApp(user_wsgi, extra_environ={"REMOTE_ADDR": "203.0.113.8"})
    assert login(other, RAVI).status_int == 303
    before = state(db)
    refused = kyc(other, "Asha Verma", status=400)
    assert "already verified for another wallet" in refused.text
    assert PAN not in refused.text  # (nor is it written back into the form)
    assert level(db, ravi) == "minimum" and record(db, ravi) is None
    assert state(db) == before
    with db() as session:
        assert session.get(User, ravi).name == "<script>alert(1)</script>"  # unchanged


def test_the_database_itself_keeps_one_wallet_per_pan(db, asha):
    ravi = make_user(db, RAVI, "Ravi", full_kyc=False)
    with db() as session, session.begin():
        KycService(session, ApproveAllVerifier(), TEST_PAN_VAULT).record(
            session.get(User, asha), KycDetails("Asha", PAN, _dob()), "test")
    sealed = TEST_PAN_VAULT.seal(PAN, user_id=ravi)
    with pytest.raises(sa.exc.IntegrityError), db() as session, session.begin():
        # As a concurrent request that passed the look-up would write it.
        session.add(KycRecord(user_id=ravi, name_on_pan="Ravi", pan_ciphertext=sealed.ciphertext,
                              pan_key_id=sealed.key_id, pan_fingerprint=sealed.fingerprint,
                              pan_last4=sealed.last4, date_of_birth=_dob(), verifier="x",
                              reference="", verified_at=_now()))


def test_a_lost_race_is_the_same_clear_refusal(db, asha, monkeypatch):
    ravi = make_user(db, RAVI, "Ravi", full_kyc=False)
    with db() as session, session.begin():
        KycService(session, ApproveAllVerifier(), TEST_PAN_VAULT).record(
            session.get(User, asha), KycDetails("Asha", PAN, _dob()), "test")
    # The look-up saw nothing (the other request had not committed yet).
    monkeypatch.setattr(KycService, "_refuse_taken", lambda self, user, fingerprint: None)
    with db() as session, session.begin():
        with pytest.raises(KycRefused, match="already verified for another wallet"):
            KycService(session, ApproveAllVerifier(), TEST_PAN_VAULT).upgrade(
                session.get(User, ravi), "Ravi", PAN, DOB)
    assert level(db, ravi) == "minimum"


# ------------------------------------------------------------------- the name


@pytest.mark.parametrize("name", ["<script>alert(1)</script>", "Asha 2", "Asha; DROP",
                                  "-Asha", "Asha\u202eVerma", "x" * 81])
def test_the_name_on_the_pan_is_a_persons_name(user_app, db, asha, name):
    refused = kyc(user_app, name, status=400)
    assert "exactly as on your PAN card" in refused.text
    assert level(db, asha) == "minimum"


def test_the_name_must_be_the_registrys_and_becomes_the_wallets(db, monkeypatch):
    monkeypatch.setattr(RegistryStub, "REGISTRY", {PAN: "ASHA VERMA"})
    asha = make_user(db, ASHA, "Asha <3", full_kyc=False)
    with db() as session, session.begin():
        service = KycService(session, RegistryStub(), TEST_PAN_VAULT)
        with pytest.raises(KycRefused, match="another name") as refused:
            service.upgrade(session.get(User, asha), "Ravi Kumar", PAN, DOB)
        assert refused.value.field == "name_on_pan"
    assert level(db, asha) == "minimum"
    with db() as session, session.begin():
        KycService(session, RegistryStub(), TEST_PAN_VAULT).upgrade(
            session.get(User, asha), "asha  verma", PAN, DOB)  # case and spacing aside
    with db() as session:
        user = session.get(User, asha)
        assert (user.kyc_level, user.name) == ("full", "asha verma")


def test_an_approval_without_the_registrys_name_is_not_enough(db):
    from wallet.identity.kyc import KycVerdict

    class Nameless:
        name = "nameless"

        def verify(self, details):
            return KycVerdict(True, reference="r-1")

    asha = make_user(db, ASHA, "Asha", full_kyc=False)
    with db() as session, session.begin():
        with pytest.raises(KycRefused, match="another name"):
            KycService(session, Nameless(), TEST_PAN_VAULT).upgrade(
                session.get(User, asha), "Asha Verma", PAN, DOB)
    assert level(db, asha) == "minimum"


# --------------------------------------------------------- encrypted, masked


def test_the_pan_is_stored_encrypted_with_its_key_id_and_fingerprint(user_app, db, asha,
                                                                    app_db_url):
    kyc(user_app, "Asha Verma")
    with db() as session:
        row = session.execute(sa.text("SELECT * FROM kyc_records")).mappings().one()
    assert "pan" not in row  # the clear column is gone
    assert PAN not in repr(dict(row)) and PAN.encode() not in bytes(row["pan_ciphertext"])
    assert row["pan_key_id"] == TEST_PAN_SETTINGS["wallet.pan_key_id"]
    assert row["pan_last4"] == PAN[-4:]
    assert TEST_PAN_VAULT.open(row["pan_key_id"], bytes(row["pan_ciphertext"]),
                               user_id=asha) == PAN
    fingerprint = hmac.new(TEST_PAN_SETTINGS["wallet.pan_hmac_key"].encode(), PAN.encode(),
                           hashlib.sha256).hexdigest()
    assert row["pan_fingerprint"] == fingerprint
    if app_db_url.startswith("sqlite:///"):  # not in the database file at all
        db_file = pathlib.Path(app_db_url.removeprefix("sqlite:///"))
        for path in (db_file, db_file.with_name(db_file.name + "-wal")):
            assert not path.exists() or PAN.encode() not in path.read_bytes()


def test_the_pan_is_shown_masked_on_the_kyc_page_and_in_the_console(user_app, db, asha,
                                                                   web_settings):
    import admin_app

    page = kyc(user_app, "Asha Verma").follow()
    assert "Full KYC" in page.text and mask_pan(PAN[-4:]) in page.text
    assert PAN not in page.text and "Asha Verma" in page.text
    app = admin_app.main({}, **{**web_settings, "admin.session_secret": ADMIN_SECRET})
    console = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    try:
        assert sign_in(console, "olga", add_operator(db, "olga", "viewer").now()
                       ).status_int == 303
        found = console.get("/lookup", {"q": ASHA})
        assert "XXXXXX234Q" in found.text and PAN not in found.text
        assert re.search(r'id="pan">XXXXXX234Q<', found.text)
    finally:
        app.registry["dbsession_factory"].kw["bind"].dispose()


def test_details_and_sealed_pans_never_print_the_pan():
    details = KycDetails("Asha Verma", PAN, _dob())
    sealed = TEST_PAN_VAULT.seal(PAN, user_id=1)
    for text in (repr(details), str(details), repr(sealed), repr(TEST_PAN_VAULT.keys)):
        assert PAN not in text
    assert "test-pan-key" not in repr(TEST_PAN_VAULT.keys)  # nor a key
    assert "XXXXXX234Q" in repr(details)


def test_a_ciphertext_opens_only_in_its_own_row():
    sealed = TEST_PAN_VAULT.seal(PAN, user_id=1)
    assert TEST_PAN_VAULT.open(sealed.key_id, sealed.ciphertext, user_id=1) == PAN
    with pytest.raises(ValueError):
        TEST_PAN_VAULT.open(sealed.key_id, sealed.ciphertext, user_id=2)
    with pytest.raises(ValueError):
        TEST_PAN_VAULT.open("t1", sealed.ciphertext, user_id=1)


def test_key_rotation_reseals_rows_under_the_current_key(db, asha):
    old = PanVault(PanKeys.from_settings({**TEST_PAN_SETTINGS, "wallet.pan_key_id": "t1"}))
    with db() as session, session.begin():
        KycService(session, ApproveAllVerifier(), old).record(
            session.get(User, asha), KycDetails("Asha", PAN, _dob()), "test")
    assert record(db, asha).pan_key_id == "t1"
    with db() as session, session.begin():
        assert reseal_pans(session, TEST_PAN_VAULT) == 1  # t2 is current
    with db() as session, session.begin():
        assert reseal_pans(session, TEST_PAN_VAULT) == 0
    row = record(db, asha)
    assert row.pan_key_id == "t2"
    assert TEST_PAN_VAULT.open("t2", row.pan_ciphertext, user_id=asha) == PAN
    # Without t1 any more, the ring still opens every row.
    t2_only = PanVault(PanKeys.from_settings({
        **TEST_PAN_SETTINGS, "wallet.pan_keys": TEST_PAN_SETTINGS["wallet.pan_keys"].split()[1]}))
    assert t2_only.open(row.pan_key_id, row.pan_ciphertext, user_id=asha) == PAN
    assert row.pan_fingerprint == TEST_PAN_VAULT.fingerprint(PAN)  # unchanged: still unique


# ------------------------------------------------------------------ settings


def production(**changes) -> dict:
    settings = {"wallet.environment": "production", **PRODUCTION_KYC_SETTINGS, **changes}
    return {key: value for key, value in settings.items() if value is not None}


@pytest.mark.parametrize("spec", ["wallet.identity.kyc:ApproveAllVerifier",
                                  "wallet.seed:ApproveAllVerifier",  # the same, by another name
                                  None])  # (the default)
def test_production_refuses_the_approve_all_verifier(spec):
    with pytest.raises(ConfigurationError, match="approves everyone"):
        WalletSettings.from_dict(production(**{"wallet.kyc_verifier": spec}))
    assert WalletSettings.from_dict(production()).kyc_verifier == (
        "tests.wallet_helpers:RegistryStub")


def test_production_refuses_a_verifier_it_cannot_load():
    with pytest.raises(ConfigurationError, match="cannot be loaded"):
        WalletSettings.from_dict(production(**{"wallet.kyc_verifier": "nowhere:Nothing"}))


@pytest.mark.parametrize("changes, message", [
    ({"wallet.pan_keys": None}, "wallet.pan_keys is required"),
    ({"wallet.pan_hmac_key": None}, "wallet.pan_hmac_key is required"),
    ({"wallet.pan_key_id": None}, "must name one of the keys"),
    ({"wallet.pan_key_id": "2025z"}, "must name one of the keys"),
    ({"wallet.pan_keys": "2026a:short"}, "wallet.pan_keys \\(2026a\\)"),
    ({"wallet.pan_keys": "2026a:development-only-pan-encryption-key-never-in-production"},
     "development value"),
    ({"wallet.pan_keys": "2026a:" + "a" * 40}, "wallet.pan_keys \\(2026a\\)"),
    ({"wallet.pan_hmac_key": "development-only-pan-fingerprint-key-never-in-production"},
     "wallet.pan_hmac_key"),
    ({"wallet.pan_hmac_key": PRODUCTION_KYC_SETTINGS["wallet.pan_keys"].split(":")[1]},
     "a secret of its own"),
    ({"wallet.pan_keys": "bad/id:" + "Zq8vN3xR7tLw2pKc9YhB4mFs6Dj1GaUe"}, "not a valid key id"),
])
def test_production_refuses_missing_or_weak_pan_keys(changes, message):
    with pytest.raises(ConfigurationError, match=message):
        WalletSettings.from_dict(production(**changes))


def test_development_keys_are_marked_and_refused_by_production():
    import configparser

    root = pathlib.Path(__file__).resolve().parents[2]
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(root / "development.ini")
    values = {k: v for k, v in ini["DEFAULT"].items() if k.startswith("wallet.pan_")}
    assert "development-only" in values["wallet.pan_keys"]
    assert WalletSettings.from_dict(values).pan_keys is not None  # development: fine
    with pytest.raises(ConfigurationError, match="development value"):
        WalletSettings.from_dict({**production(), **values})
    prod = configparser.ConfigParser(interpolation=None)
    prod.read(root / "production.ini")
    assert all(prod["DEFAULT"][key].startswith("env:") for key in (
        "wallet.pan_keys", "wallet.pan_key_id", "wallet.pan_hmac_key", "wallet.kyc_verifier"))


def test_without_pan_keys_kyc_cannot_be_used_outside_production(db):
    settings = WalletSettings.from_dict({})
    assert settings.pan_keys is None
    with db() as session, pytest.raises(ConfigurationError, match="wallet.pan_keys"):
        Services(session, settings).kyc  # noqa: B018


def test_test_users_each_have_their_own_pan(db):
    ids = [make_user(db, phone, "Some One") for phone in (ASHA, RAVI, "+919988776655")]
    with db() as session:
        fingerprints = session.scalars(select(KycRecord.pan_fingerprint)).all()
    assert len(set(fingerprints)) == len(ids) == 3
    assert pan_of(ASHA) != pan_of(RAVI)


def _dob():
    import datetime as dt

    return dt.date(1990, 4, 21)


def _now():
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc)
