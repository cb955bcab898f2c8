"""One-time codes by SMS (wallet.identity.phone_codes, phone_flows, devices):
single use, expiry on the injected clock, the limits on sends and tries, the
constant-time comparison, only a hash stored, SMS only after commit, and a
forgotten password that does not tell whether a phone has an account."""
from __future__ import annotations

import datetime as dt
import hmac
import re

import pytest
from sqlalchemy import select

from wallet.core.codes import OtpStatus
from wallet.core.models import Notification, User
from wallet.identity.accounts import AccountService
from wallet.identity.devices import KnownDevices, new_device_id
from wallet.identity.errors import AccountError, CodeDead, CodeExpired, CodesThrottled, WrongCode
from wallet.identity.models import OtpCode
from wallet.identity.phone_codes import OtpPolicy, PhoneCodes, code_mac
from wallet.identity.phone_flows import PasswordRecovery, PhoneSignup, PinRecovery

from ..wallet_helpers import PASSWORD, TEST_PIN_POLICY, make_user, pins_service

T0 = dt.datetime(2026, 12, 12, 6, 0, tzinfo=dt.timezone.utc)
SECRET = b"test-otp-secret-" + b"s" * 24
PHONE = "+919988776655"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def move(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


class RecordingGateway:
    name = "recording"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, message, /) -> None:
        self.sent.append((message.phone, message.text))

    def code(self) -> str:
        return re.match(r"\d{6}", self.sent[-1][1]).group(0)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def gateway():
    return RecordingGateway()


def codes(session, clock, gateway, **policy) -> PhoneCodes:
    return PhoneCodes(session, policy=OtpPolicy(secret=SECRET, **policy), gateway=gateway,
                      clock=clock)


def signup(session, clock, gateway, **policy) -> PhoneSignup:
    return PhoneSignup(session, codes=codes(session, clock, gateway, **policy),
                       accounts=AccountService(session, bcrypt_rounds=4, clock=clock))


def recovery(session, clock, gateway) -> PasswordRecovery:
    return PasswordRecovery(session, codes=codes(session, clock, gateway),
                            accounts=AccountService(session, bcrypt_rounds=4, clock=clock),
                            clock=clock)


def start_signup(db, clock, gateway, phone: str = PHONE) -> str:
    with db() as session, session.begin():
        return signup(session, clock, gateway).start(phone, "Meera Iyer", PASSWORD).token


def finish(db, clock, gateway, token: str, code: str):
    """finish() in a transaction that commits even when refused (as the pages do)."""
    with db() as session, session.begin():
        try:
            return signup(session, clock, gateway).finish(token, code).id
        except (WrongCode, CodeDead, CodeExpired) as exc:
            return exc


def test_a_code_signs_up_once_and_only_a_keyed_hash_is_kept(db, clock, gateway):
    token = start_signup(db, clock, gateway)
    assert len(gateway.sent) == 1 and gateway.sent[0][0] == PHONE
    code = gateway.code()
    with db() as session:
        assert session.scalar(select(User)) is None  # no account before the code
        row = session.scalar(select(OtpCode))
        assert row.code_hash == code_mac(SECRET, token, code) != code
        assert code not in repr([getattr(row, c.key) for c in OtpCode.__table__.c])
    user_id = finish(db, clock, gateway, token, code)
    assert isinstance(user_id, int)
    again = finish(db, clock, gateway, token, code)
    assert isinstance(again, CodeDead)
    with db() as session:
        assert session.get(User, user_id).phone == PHONE
        row = session.scalar(select(OtpCode))
        assert row.status == OtpStatus.USED and row.signup_password_hash is None


def test_a_code_expires_and_a_new_one_can_be_asked(db, clock, gateway):
    token = start_signup(db, clock, gateway)
    old = gateway.code()
    clock.move(seconds=600)
    assert isinstance(finish(db, clock, gateway, token, old), CodeExpired)
    with db() as session, session.begin():
        signup(session, clock, gateway).resend(token)
    new = gateway.code()
    if new != old:  # (one chance in a million they are the same)
        assert isinstance(finish(db, clock, gateway, token, old), WrongCode)
    assert isinstance(finish(db, clock, gateway, token, new), int)


def test_five_wrong_tries_kill_the_code(db, clock, gateway):
    token = start_signup(db, clock, gateway)
    right = gateway.code()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1):
        refused = finish(db, clock, gateway, token, wrong)
        assert isinstance(refused, WrongCode) and f"{left} tr" in str(refused)
    assert isinstance(finish(db, clock, gateway, token, wrong), CodeDead)
    assert isinstance(finish(db, clock, gateway, token, right), CodeDead)  # start again
    with db() as session:
        assert session.scalar(select(OtpCode.status)) == OtpStatus.DEAD
        assert session.scalar(select(User)) is None
    with db() as session, session.begin(), pytest.raises(CodeDead):
        signup(session, clock, gateway).resend(token)


def test_codes_a_phone_gets_in_an_hour_are_limited(db, clock, gateway):
    for _ in range(5):
        start_signup(db, clock, gateway)
    with pytest.raises(CodesThrottled) as throttled:
        start_signup(db, clock, gateway)
    assert throttled.value.retry_after_s == 3600
    with pytest.raises(CodesThrottled):  # every purpose counts
        with db() as session, session.begin():
            recovery(session, clock, gateway).start(PHONE)
    start_signup(db, clock, gateway, phone="+919988776600")  # another phone: its own count
    clock.move(hours=1)
    start_signup(db, clock, gateway)
    assert len(gateway.sent) == 7


def test_a_resend_waits_a_minute_and_counts(db, clock, gateway):
    token = start_signup(db, clock, gateway)
    with db() as session, session.begin(), pytest.raises(CodesThrottled) as soon:
        signup(session, clock, gateway).resend(token)
    assert 1 <= soon.value.retry_after_s <= 60
    for _ in range(4):
        clock.move(seconds=60)
        with db() as session, session.begin():
            signup(session, clock, gateway).resend(token)
    clock.move(seconds=60)
    with db() as session, session.begin(), pytest.raises(CodesThrottled):
        signup(session, clock, gateway).resend(token)  # five sends this hour
    assert len(gateway.sent) == 5


def test_the_code_is_compared_in_constant_time(db, clock, gateway, monkeypatch):
    token = start_signup(db, clock, gateway)
    compared = []
    real = hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert isinstance(finish(db, clock, gateway, token, "000000" if gateway.code() != "000000"
                             else "111111"), WrongCode)
    assert isinstance(finish(db, clock, gateway, token, gateway.code()), int)
    assert len(compared) == 2
    assert compared[1][1] == code_mac(SECRET, token, gateway.code())


def test_a_rolled_back_sign_up_texts_nobody(db, clock, gateway):
    with db() as session:
        session.begin()
        signup(session, clock, gateway).start(PHONE, "Meera Iyer", PASSWORD)
        session.flush()
        assert gateway.sent == []  # not before the commit
        session.rollback()
    assert gateway.sent == []
    with db() as session, session.begin():
        signup(session, clock, gateway).start(PHONE, "Meera Iyer", PASSWORD)
        assert gateway.sent == []
    assert len(gateway.sent) == 1


def test_a_refused_sign_up_sends_nothing(db, clock, gateway):
    make_user(db, PHONE)
    with db() as session, session.begin(), pytest.raises(AccountError) as refused:
        signup(session, clock, gateway).start(PHONE, "Meera", "weak")
    assert set(refused.value.errors) == {"phone", "password"}
    assert gateway.sent == []


def test_a_forgotten_password_answers_alike_for_any_phone(db, clock, gateway):
    make_user(db, PHONE, "Meera Iyer")
    with db() as session, session.begin():
        known = recovery(session, clock, gateway).start("99887 76655")
        unknown = recovery(session, clock, gateway).start("99887 70000")
    assert type(known) is type(unknown) and known.expires_at == unknown.expires_at
    assert [phone for phone, _ in gateway.sent] == [PHONE]  # only the account's phone
    for token in (known.token, unknown.token):
        with db() as session, session.begin(), pytest.raises(WrongCode) as wrong:
            recovery(session, clock, gateway).finish(token, "000000", "new pass 2026!",
                                                     "new pass 2026!")
        assert str(wrong.value).startswith("That is not the code we sent.")


def test_a_password_reset_by_code_needs_a_strong_password_then_works(db, clock, gateway):
    make_user(db, PHONE, "Meera Iyer")
    with db() as session, session.begin():
        token = recovery(session, clock, gateway).start(PHONE).token
    code = gateway.code()
    with db() as session, session.begin(), pytest.raises(AccountError) as weak:
        recovery(session, clock, gateway).finish(token, code, "meeraiyer", "meeraiyer")
    assert "password" in weak.value.errors
    with db() as session, session.begin():  # the code still works after a weak password
        recovery(session, clock, gateway).finish(token, code, "tamarind sky 42", "tamarind sky 42")
    with db() as session:
        AccountService(session, bcrypt_rounds=4).authenticate(PHONE, "tamarind sky 42", "1.2.3.4")


def test_a_pin_reset_by_code(db, clock, gateway):
    user_id = make_user(db, PHONE)
    with db() as session, session.begin():
        user = session.get(User, user_id)
        flow = PinRecovery(session, codes=codes(session, clock, gateway),
                           pins=pins_service(session, clock=clock))
        token = flow.start(user).token
    with db() as session, session.begin():
        user = session.get(User, user_id)
        flow = PinRecovery(session, codes=codes(session, clock, gateway),
                           pins=pins_service(session, clock=clock))
        flow.finish(user, token, gateway.code(), "4826", "4826")
    with db() as session, session.begin():
        pins_service(session, clock=clock).approve(session.get(User, user_id), "4826")
    assert TEST_PIN_POLICY.keys is not None


def test_a_sign_in_from_a_new_device_is_told(db, clock, gateway):
    user_id = make_user(db, PHONE)
    first, second = new_device_id(), new_device_id()
    ua = "Mozilla/5.0 (Linux; Android 14) Chrome/120.0"
    for device, new in ((first, True), (first, False), (second, True), (second, False)):
        with db() as session, session.begin():
            devices = KnownDevices(session, gateway=gateway, clock=clock)
            assert devices.signed_in(session.get(User, user_id), device, ua) is new
    with db() as session:
        notices = session.scalars(select(Notification.text)).all()
    assert len(notices) == 1 and "Chrome on Android" in notices[0]  # not the first device
    assert gateway.sent == [(PHONE, notices[0])]
