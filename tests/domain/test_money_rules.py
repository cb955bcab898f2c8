"""Money rules pinned down one at a time, each on one injected clock, so that
a change to the rule fails a test (hand-made mutations of these rules once
survived the suite; docs/mutation-testing.md):

* the monthly bank limit of a minimum-KYC wallet counts deposits still
  pending, and months are India's;
* the credit checks lock the receiving user's row before reading its room
  (the only deterministic sign of it on SQLite: the statements themselves);
* a PIN lock that has run out starts the count of wrong tries afresh, at the
  exact instant it ends;
* the batch payment path refuses a frozen wallet as pay_shop does;
* the per-account hash chain is the documented text and links each posting
  to the one before it;
* a hold expires at its ``expires_at`` exactly, not a microsecond later.
"""
from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import hashlib
import re

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import ledgerlib
from ledgerlib import HoldExpired, InsufficientFunds, Ledger
from ledgerlib.chain import GENESIS, posting_hash
from ledgerlib.tables import accounts, postings
from wallet.core.codes import IST, Kind
from wallet.core.models import User
from wallet.identity.errors import PinLocked, WrongPin
from wallet.identity.models import WalletPin
from wallet.identity.pins import PinPolicy
from wallet.money import records
from wallet.money.bulk_payments import ShopPayment, pay_shop_batch
from wallet.money.errors import DepositLimit, WalletFrozen
from wallet.money.freeze import freeze

from ..ledgerlib.test_ledger_asof import _unguard as unguard
from ..wallet_helpers import (
    PIN,
    TEST_BANKS,
    TEST_PIN_POLICY,
    activity_service,
    balance,
    deposit_service,
    make_user,
    pins_service,
    shop_payments_service,
    state,
    transfers_service,
    wallet_limits,
)

UTC = dt.timezone.utc
ASHA, RAVI = "+919876543210", "+919812345678"


class Clock:
    """The one clock of a test: every service in it reads this."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, now: dt.datetime) -> None:
        self.now = now


def ist(*args: int) -> dt.datetime:
    """An instant given as India's wall-clock time."""
    return dt.datetime(*args, tzinfo=IST)


# ------------------------------------------------------ the monthly bank limit


def deposit(db, clock, user_id: int, amount_paise: int, key: str, *, complete: bool):
    with db() as session, session.begin():
        service = deposit_service(session, TEST_BANKS, clock=clock)
        user = session.get(User, user_id)
        if complete:
            return service.record_completed(user, "hdfc", amount_paise, key).id
        return service.start(user, "hdfc", amount_paise, key).id


def spend(db, clock, user_id: int, amount_paise: int, key: str, phone: str = "9812345678"):
    with db() as session, session.begin():
        transfers_service(session, clock=clock).send_money(
            session.get(User, user_id), phone, amount_paise, key, pin=PIN)


def room(db, clock, user_id: int):
    with db() as session:
        return wallet_limits(session, clock=clock).headroom(user_id)


def test_pending_deposits_count_toward_the_monthly_bank_limit(db):
    """Isolated from the balance cap: the money that came in was spent, so the
    wallet has room to hold more; only the month's bank total refuses."""
    clock = Clock(ist(2026, 12, 15, 11, 0))
    asha = make_user(db, ASHA, "Asha", full_kyc=False)
    make_user(db, RAVI, "Ravi Kumar")
    deposit(db, clock, asha, 6_000_00, "form-key-month-0001", complete=True)
    spend(db, clock, asha, 6_000_00, "form-key-month-0002")
    deposit(db, clock, asha, 3_000_00, "form-key-month-0003", complete=False)  # pending
    left = room(db, clock, asha)
    assert left.balance_left_paise == 7_000_00  # 10,000 cap - 3,000 pending
    assert left.bank_left_paise == 1_000_00  # 10,000 a month - 6,000 done - 3,000 pending
    before = state(db)
    with pytest.raises(DepositLimit, match="a month from banks"):
        deposit(db, clock, asha, 1_000_01, "form-key-month-0004", complete=False)
    assert state(db) == before
    deposit(db, clock, asha, 1_000_00, "form-key-month-0005", complete=False)  # all that's left
    assert room(db, clock, asha).deposit_left_paise == 0


@pytest.mark.parametrize("later, bank_left", [
    (ist(2026, 11, 30, 23, 59, 59, 999999), 4_000_00),  # still November in India
    (ist(2026, 12, 1, 0, 0), 10_000_00),  # December in India (18:30 UTC on 30 November)
    (ist(2026, 12, 1, 0, 30), 10_000_00),  # still November in UTC: India's month counts
])
def test_the_monthly_bank_limit_starts_afresh_at_midnight_in_india(db, later, bank_left):
    clock = Clock(ist(2026, 11, 30, 22, 0))
    asha = make_user(db, ASHA, "Asha", full_kyc=False)
    make_user(db, RAVI, "Ravi Kumar")
    deposit(db, clock, asha, 6_000_00, "form-key-month-0001", complete=True)
    spend(db, clock, asha, 6_000_00, "form-key-month-0002")
    clock.set(later)
    assert room(db, clock, asha).bank_left_paise == bank_left


def test_a_deposit_at_the_first_instant_of_an_india_month_counts_for_that_month(db):
    clock = Clock(ist(2026, 12, 1, 0, 0))  # 18:30 UTC on 30 November
    asha = make_user(db, ASHA, "Asha", full_kyc=False)
    make_user(db, RAVI, "Ravi Kumar")
    deposit(db, clock, asha, 6_000_00, "form-key-month-0001", complete=True)
    spend(db, clock, asha, 6_000_00, "form-key-month-0002")
    clock.set(ist(2026, 12, 31, 23, 59))
    assert room(db, clock, asha).bank_left_paise == 4_000_00


def test_only_the_wallets_own_live_deposits_use_up_its_room(db):
    """Someone else's pending deposit, and a deposit given up this month, take
    nothing from the wallet's room."""
    clock = Clock(ist(2026, 12, 15, 11, 0))
    asha = make_user(db, ASHA, "Asha", full_kyc=False)
    ravi = make_user(db, RAVI, "Ravi Kumar", full_kyc=False)
    deposit(db, clock, ravi, 8_000_00, "form-key-month-0001", complete=False)
    deposit_id = deposit(db, clock, asha, 9_000_00, "form-key-month-0002", complete=False)
    with db() as session, session.begin():
        from wallet.core.models import Transaction

        token = session.get(Transaction, deposit_id).token
        assert deposit_service(session, TEST_BANKS, clock=clock).cancel(
            session.get(User, asha), token).status == "failed"
    left = room(db, clock, asha)
    assert (left.balance_left_paise, left.bank_left_paise) == (10_000_00, 10_000_00)


def test_a_refused_deposit_says_why_and_what_is_left(db):
    clock = Clock(ist(2026, 12, 15, 11, 0))
    asha = make_user(db, ASHA, "Asha", full_kyc=False)
    ravi = make_user(db, RAVI, "Ravi Kumar")  # full KYC
    deposit(db, clock, asha, 10_000_00, "form-key-month-0001", complete=False)
    with pytest.raises(DepositLimit) as refused:
        deposit(db, clock, asha, 100_00, "form-key-month-0002", complete=False)
    assert str(refused.value).startswith("You cannot add money now: your wallet holds at most")
    assert "Complete your KYC to raise the limit to" in str(refused.value)
    # ₹0.00 in the wallet: what fills it is the deposit still pending, said so.
    assert ("counting ₹10,000.00 you started adding from HDFC that the bank has not "
            "confirmed yet") in str(refused.value)
    deposit(db, clock, ravi, 1_00_000_00, "form-key-month-0003", complete=False)
    deposit(db, clock, ravi, 99_000_00, "form-key-month-0005", complete=False)
    with pytest.raises(DepositLimit) as refused:
        deposit(db, clock, ravi, 2_000_00, "form-key-month-0004", complete=False)
    assert str(refused.value).startswith("You can add at most")
    assert "KYC" not in str(refused.value)  # a full-KYC wallet is told nothing of KYC
    assert "₹1,99,000.00 you started adding from HDFC" in str(refused.value)


# --------------------------------------------- the credit checks' row lock


@contextlib.contextmanager
def statements(engine: sa.Engine):
    """Each statement run on ``engine`` meanwhile with its parameters; a SELECT
    as PostgreSQL would get it (SQLite's compiler drops ``FOR UPDATE``)."""
    seen: list[tuple[str, dict]] = []

    def record(conn, clause, multiparams, params, execution_options):
        if isinstance(clause, sa.sql.ClauseElement):
            dialect = (postgresql.dialect() if isinstance(clause, sa.sql.Select)
                       else conn.dialect)
            compiled = clause.compile(dialect=dialect)
            given = dict(params or {})  # (values bound at execution: prebuilt statements)
            for one in multiparams or ():
                given.update(one if isinstance(one, dict) else {})
            seen.append((str(compiled), {**compiled.params, **given}))
        else:
            seen.append((str(clause), {}))

    sa.event.listen(engine, "before_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_execute", record)


LOCKING = re.compile(r"\bFOR (NO KEY )?UPDATE\b")


def first_lock_of_user(seen, user_id: int, phone: str | None = None) -> int | None:
    """The first statement locking the user's row, found by its id or (a
    transfer locks its recipient with the lookup by number) its phone."""
    for i, (sql, params) in enumerate(seen):
        if (LOCKING.search(sql) and re.search(r"\bFROM users\b", sql)
                and (user_id in params.values() or (phone and phone in params.values()))):
            return i
    return None


def first_ledger_write(seen) -> int:
    """(On PostgreSQL the posting is one statement beginning WITH: ledgerlib's fast path.)"""
    return next(i for i, (sql, _) in enumerate(seen)
                if re.match(r"\s*(INSERT|UPDATE|WITH)\b", sql) and "ledger_" in sql)


def test_a_transfer_locks_the_recipients_row_before_checking_its_room(db, app_engine):
    """Two credits to one wallet checked at once could both fit and together
    overshoot its cap: the check runs under the recipient's row lock
    (test_stepup_races.py shows the race on PostgreSQL)."""
    clock = Clock(ist(2026, 12, 15, 11, 0))
    asha = make_user(db, ASHA, "Asha", deposit_paise=1_000_00)
    ravi = make_user(db, RAVI, "Ravi Kumar")
    with statements(app_engine) as seen:
        spend(db, clock, asha, 100_00, "form-key-lock-00001")
    locked_at = first_lock_of_user(seen, ravi, RAVI)
    assert locked_at is not None, "the recipient's users row was not locked"
    assert locked_at < first_ledger_write(seen)
    assert balance(db, ravi) == (100_00, 0)


def test_reading_the_room_for_a_page_locks_nothing(db, app_engine):
    """Only a credit check locks: a page showing the room must not queue
    behind (or hold up) a payment to that wallet."""
    clock = Clock(ist(2026, 12, 15, 11, 0))
    asha = make_user(db, ASHA, "Asha", full_kyc=False)
    with statements(app_engine) as seen:
        room(db, clock, asha)
    assert seen and not any(LOCKING.search(sql) for sql, _ in seen)


def test_a_deposit_locks_the_users_row_before_checking_its_room(db, app_engine):
    clock = Clock(ist(2026, 12, 15, 11, 0))
    asha = make_user(db, ASHA, "Asha", full_kyc=False)
    with statements(app_engine) as seen:
        deposit(db, clock, asha, 500_00, "form-key-lock-00002", complete=False)
    locked_at = first_lock_of_user(seen, asha)
    assert locked_at is not None, "the user's row was not locked for the deposit check"
    insert = next(i for i, (sql, _) in enumerate(seen)
                  if sql.startswith("INSERT INTO transactions"))
    assert locked_at < insert


# ------------------------------------------------------------ the PIN lock


def try_pin(db, clock, policy, user_id: int, pin: str):
    with db() as session, session.begin():
        try:
            return pins_service(session, clock=clock, pin_policy=policy).approve(
                session.get(User, user_id), pin)
        except WrongPin as exc:
            return exc
        except PinLocked as exc:
            return exc


def tries(db, user_id: int) -> int:
    with db() as session:
        return session.get(WalletPin, user_id).failed_tries


def test_a_lapsed_pin_lock_starts_the_count_afresh_at_its_exact_end(db):
    clock = Clock(ist(2026, 12, 15, 11, 0))
    policy = PinPolicy(max_tries=3, lock_s=600, keys=TEST_PIN_POLICY.keys)
    asha = make_user(db, ASHA, "Asha")
    results = [try_pin(db, clock, policy, asha, "2468") for _ in range(3)]
    assert [type(r) for r in results] == [WrongPin, WrongPin, PinLocked]
    lock_ends = ist(2026, 12, 15, 11, 10)
    clock.set(lock_ends - dt.timedelta(microseconds=1))
    locked = try_pin(db, clock, policy, asha, PIN)  # even the right one
    assert isinstance(locked, PinLocked) and locked.retry_after_s == 1
    assert str(locked).startswith("Too many wrong PINs: payments are locked for 1 more minute.")
    clock.set(lock_ends)  # the lock ends at this instant: a fresh count starts
    again = try_pin(db, clock, policy, asha, "2468")
    assert isinstance(again, WrongPin) and "2 tries left" in str(again)
    assert tries(db, asha) == 1
    assert try_pin(db, clock, policy, asha, PIN).user_id == asha
    assert tries(db, asha) == 0


def test_an_approval_is_good_for_its_own_user_only(db):
    from wallet.identity.errors import PinRefused

    asha, ravi = make_user(db, ASHA, "Asha"), make_user(db, RAVI, "Ravi Kumar")
    with db() as session, session.begin():
        pins = pins_service(session, pin_policy=PinPolicy(keys=TEST_PIN_POLICY.keys))
        approval = pins.approve(session.get(User, asha), PIN)
        assert pins.approve(session.get(User, asha), approval) is approval  # no PIN asked
        with pytest.raises(PinRefused, match="That approval is another user's.") as refused:
            pins.approve(session.get(User, ravi), approval, field="old_pin")
        assert refused.value.field == "old_pin"  # the form field that shows it
    assert tries(db, ravi) == 0  # refused before any try was counted


def test_a_user_without_a_pin_is_told_to_set_one_on_the_pin_field(db):
    from wallet.identity.errors import PinNotSet

    asha = make_user(db, ASHA, "Asha", pin=None)
    with db() as session, session.begin():
        pins = pins_service(session)
        for field in ("pin", "old_pin"):
            with pytest.raises(PinNotSet) as refused:
                pins.approve(session.get(User, asha), PIN, field=field)
            assert refused.value.field == field
            assert str(refused.value) == "Set your wallet PIN first: it keeps your money safe."


def test_locked_until_tells_the_lock_end_until_that_instant(db):
    clock = Clock(ist(2026, 12, 15, 11, 0))
    policy = PinPolicy(max_tries=2, lock_s=600, keys=TEST_PIN_POLICY.keys)
    asha, ravi = make_user(db, ASHA, "Asha"), make_user(db, RAVI, "Ravi Kumar")
    for _ in range(2):
        try_pin(db, clock, policy, asha, "2468")
    try_pin(db, clock, policy, ravi, "2468")  # one wrong try: not locked
    lock_ends = ist(2026, 12, 15, 11, 10)

    def locked_until(user_id):
        with db() as session:
            pins = pins_service(session, clock=clock, pin_policy=policy)
            return pins.locked_until(session.get(User, user_id))

    assert (locked_until(asha), locked_until(ravi)) == (lock_ends, None)
    clock.set(lock_ends - dt.timedelta(microseconds=1))
    assert locked_until(asha) == lock_ends
    clock.set(lock_ends)
    assert locked_until(asha) is None


# -------------------------------------------------- a frozen wallet, in bulk


def test_the_batch_payment_path_refuses_a_frozen_wallet(db):
    from wallet.identity.accounts import AccountService

    clock = Clock(ist(2026, 12, 15, 11, 0))
    asha = make_user(db, ASHA, "Asha", deposit_paise=1_000_00)
    ravi = make_user(db, RAVI, "Ravi Kumar", deposit_paise=1_000_00)
    with db() as session, session.begin():
        AccountService(session, bcrypt_rounds=4).signup_merchant(
            "tea-stall", "Tea Stall", "tea@example.com", "correct horse battery")
        freeze(session.get(User, asha), "under review", clock())
    with db() as session, session.begin():
        payments = shop_payments_service(session, clock=clock)
        shop = payments.merchant_by_handle("tea-stall")
        payers = session.get(User, asha), session.get(User, ravi)
        outcome = pay_shop_batch(payments, shop, [
            ShopPayment(payer, 100_00, records.idempotency_key(
                Kind.PAYMENT, payer, f"bulk-freeze-{n:04d}"), pin=PIN)
            for n, payer in enumerate(payers)])
        assert isinstance(outcome[0], WalletFrozen)
        assert outcome[1].amount_paise == 100_00 and outcome[1].payer_user_id == ravi
        assert activity_service(session).balance(shop).posted_paise == 100_00
    assert balance(db, asha) == (1_000_00, 0)
    assert tries(db, asha) == 0  # refused before the PIN: it cost no try


def test_the_batch_payment_path_records_what_pay_shop_records(db):
    """Each payment's record and ledger entry (memo, kind, settled time), its
    refusals' messages, and a key paid before (by a batch, or straight on the
    ledger) answered without paying again."""
    from wallet.core.errors import WalletError
    from wallet.identity.accounts import AccountService
    from wallet.money.errors import InsufficientBalance

    clock = Clock(ist(2026, 12, 15, 11, 0))
    asha = make_user(db, ASHA, "Asha", deposit_paise=1_000_00)
    ravi = make_user(db, RAVI, "Ravi Kumar", deposit_paise=50_00)
    with db() as session, session.begin():
        AccountService(session, bcrypt_rounds=4).signup_merchant(
            "tea-stall", "Tea Stall", "tea@example.com", "correct horse battery")

    def key(user, n):
        return records.idempotency_key(Kind.PAYMENT, user, f"bulk-rules-{n:06d}")

    with db() as session, session.begin():
        payments = shop_payments_service(session, clock=clock)
        shop = payments.merchant_by_handle("tea-stall")
        a, r = session.get(User, asha), session.get(User, ravi)
        payments.ledger.transfer(a.wallet_code, shop.wallet_code, 1_00,
                                 idempotency_key=key(a, 9))  # on the ledger, no record
        paid, poor, zero, unrecorded = pay_shop_batch(payments, shop, [
            ShopPayment(a, 100_00, key(a, 1), " 2  chai ", pin=PIN),
            ShopPayment(r, 60_00, key(r, 2), pin=PIN),
            ShopPayment(a, 0, key(a, 3), pin=PIN),
            ShopPayment(a, 1_00, key(a, 9), pin=PIN)])
        assert (paid.settled_at, paid.note, paid.amount_paise) == (clock(), "2 chai", 100_00)
        entry = payments.ledger.get_entry(paid.ledger_entry_id)
        assert entry.memo == "2 chai" and entry.metadata == {"kind": "payment"}
        assert isinstance(poor, InsufficientBalance)
        assert str(poor) == "Your available balance is ₹50.00: not enough to pay ₹60.00."
        assert type(zero) is WalletError and "amount" in str(zero).lower()
        assert type(unrecorded) is WalletError
        assert str(unrecorded) == "This payment was already made."
        paid_id = paid.id
    with db() as session, session.begin():  # the same key again, in a later batch
        payments = shop_payments_service(session, clock=clock)
        shop = payments.merchant_by_handle("tea-stall")
        [again] = pay_shop_batch(payments, shop, [
            ShopPayment(session.get(User, asha), 100_00, key(session.get(User, asha), 1),
                        pin=PIN)])
        assert again.id == paid_id
        assert activity_service(session).balance(shop).posted_paise == 101_00


def test_freeze_and_unfreeze_say_what_they_did_and_keep_the_first_freeze():
    from wallet.core.models import Merchant
    from wallet.money.freeze import MAX_REASON_CHARS, ensure_can_spend, unfreeze

    first, later = ist(2026, 12, 15, 11, 0), ist(2026, 12, 16, 11, 0)
    user = User(frozen_at=None, frozen_reason=None)
    ensure_can_spend(user)
    assert freeze(user, "r" * (MAX_REASON_CHARS + 50), first) == "frozen"
    assert user.frozen_at == first and user.frozen_reason == "r" * MAX_REASON_CHARS
    assert freeze(user, "another look", later) == "already_frozen"
    assert user.frozen_at == first and user.frozen_reason == "r" * MAX_REASON_CHARS
    with pytest.raises(WalletFrozen, match="r" * MAX_REASON_CHARS):
        ensure_can_spend(user)
    assert unfreeze(user) == "unfrozen"
    assert user.frozen_at is None and user.frozen_reason is None
    assert unfreeze(user) == "not_frozen"
    ensure_can_spend(user)
    ensure_can_spend(Merchant())  # a shop's wallet is never frozen this way


# ---------------------------------------------------------- the hash chain


def documented_hash(previous, entry_id, account_id, amount, currency, balance_after, at):
    """The text ledgerlib.chain documents, hashed here independently of it."""
    micros = calendar.timegm(at.utctimetuple()) * 1_000_000 + at.microsecond
    text = f"{previous}|{entry_id}|{account_id}|{amount}|{currency}|{balance_after}|{micros}"
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_posting_hash_is_the_documented_text_with_the_previous_hash():
    at = dt.datetime(2026, 12, 1, 0, 0, 0, 123456, tzinfo=UTC)
    previous = "ab" * 32
    # A value fixed once: the PostgreSQL fast path (SQL_HASH) and chains
    # already stored must keep getting exactly this.
    known = "6fd5212ed3420547712bde6a21afc656e9f07b70b198d6a7ccc3cbb56f8ac02d"
    assert documented_hash(previous, 7, 3, -2500, "INR", 10000, at) == known
    assert posting_hash(previous, 7, 3, -2500, "INR", 10000, at) == known
    assert posting_hash(GENESIS, 7, 3, -2500, "INR", 10000, at) != known


@pytest.fixture
def chained(session):
    clock = Clock(dt.datetime(2026, 12, 1, 6, 0, tzinfo=UTC))
    ledger = Ledger(session, clock=clock)
    ledger.open_account("bank", "asset", allow_negative=True)
    ledger.open_account("w", "liability")
    for minutes in (1, 2, 3):
        clock.set(clock() + dt.timedelta(minutes=minutes))
        ledger.transfer("bank", "w", minutes * 100_00)
    return ledger


def w_postings(session):
    w_id = session.execute(sa.select(accounts.c.id).where(accounts.c.code == "w")).scalar_one()
    return session.execute(sa.select(postings).where(postings.c.account_id == w_id)
                           .order_by(postings.c.id)).all()


def test_each_posting_chains_to_the_hash_of_the_one_before(chained, session):
    rows = w_postings(session)
    previous = GENESIS
    for row in rows:
        at = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
        assert row.hash == documented_hash(previous, row.entry_id, row.account_id,
                                           row.amount_paise, row.currency, row.balance_after, at)
        previous = row.hash
    assert chained.chain_heads()["w"] == previous


def test_an_edited_middle_posting_is_caught_even_with_its_own_hash_redone(chained, session):
    """Whoever edits a posting and recomputes its hash (it has no secret) but
    not the later ones is caught at the next posting: it chains to the old hash."""
    first, middle, last = w_postings(session)
    at = middle.created_at + dt.timedelta(seconds=1)  # still before the last one
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    redone = posting_hash(first.hash, middle.entry_id, middle.account_id, middle.amount_paise,
                          middle.currency, middle.balance_after, aware)
    unguard(session)
    session.execute(sa.update(postings).where(postings.c.id == middle.id)
                    .values(created_at=at, hash=redone))
    report = ledgerlib.verify(session)
    assert not report.ok
    assert any(f"posting {last.id} " in p and "hash" in p for p in report.problems), \
        report.summary()


# ------------------------------------------------- a hold's exact expiry


EXPIRES = dt.datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
JUST_BEFORE = EXPIRES - dt.timedelta(microseconds=1)


@pytest.fixture
def clock():
    return Clock(EXPIRES - dt.timedelta(hours=1))


@pytest.fixture
def books(session, clock):
    ledger = Ledger(session, clock=clock)
    ledger.open_account("bank", "asset", allow_negative=True)
    ledger.open_account("w", "liability")
    ledger.open_account("shop", "liability")
    ledger.transfer("bank", "w", 100_00)
    return ledger


def test_a_hold_cannot_be_committed_from_its_expiry_on(books, clock):
    hold = books.hold("w", "shop", 60_00, expires_at=EXPIRES)
    other = books.hold("w", "shop", 10_00, expires_at=EXPIRES)
    clock.set(JUST_BEFORE)
    assert books.commit_hold(other.id).postings  # a microsecond before: still good
    clock.set(EXPIRES)
    with pytest.raises(HoldExpired):
        books.commit_hold(hold.id)


def test_a_hold_released_at_its_expiry_is_recorded_expired(books, clock):
    early = books.hold("w", "shop", 10_00, expires_at=EXPIRES)
    on_time = books.hold("w", "shop", 10_00, expires_at=EXPIRES)
    clock.set(JUST_BEFORE)
    assert books.release_hold(early.id).status == "released"
    clock.set(EXPIRES)
    assert books.release_hold(on_time.id).status == "expired"


def test_the_sweep_expires_holds_at_their_exact_expiry(books, clock):
    hold = books.hold("w", "shop", 60_00, expires_at=EXPIRES)
    clock.set(JUST_BEFORE)
    assert books.expire_holds() == []
    clock.set(EXPIRES)
    assert [h.id for h in books.expire_holds()] == [hold.id]
    assert books.balance("w").available_paise == 100_00


def test_the_funds_check_frees_a_hold_at_its_exact_expiry(books, clock):
    books.hold("w", "shop", 60_00, expires_at=EXPIRES)
    clock.set(JUST_BEFORE)
    with pytest.raises(InsufficientFunds):
        books.transfer("w", "shop", 50_00)
    clock.set(EXPIRES)
    books.transfer("w", "shop", 50_00)  # the expired hold no longer holds the money
    assert books.balance("w").available_paise == 50_00


def test_a_batch_frees_a_hold_at_its_exact_expiry(books, clock):
    books.hold("w", "shop", 60_00, expires_at=EXPIRES)
    clock.set(JUST_BEFORE)
    [refused] = books.post_batch([ledgerlib.transfer_item("w", "shop", 50_00)])
    assert refused.status == "refused"
    clock.set(EXPIRES)
    [posted] = books.post_batch([ledgerlib.transfer_item("w", "shop", 50_00)])
    assert posted.status == "posted"


def test_a_hold_must_expire_after_now(books, clock):
    with pytest.raises(ledgerlib.InvalidEntry, match="in the future"):
        books.hold("w", "shop", 10_00, expires_at=clock())
    assert books.hold("w", "shop", 10_00,
                      expires_at=clock() + dt.timedelta(microseconds=1)).status == "pending"


@pytest.mark.parametrize("operation", ["transfer", "hold"])
def test_the_funds_check_frees_only_the_short_accounts_expired_holds(books, clock, operation):
    books.transfer("bank", "shop", 100_00)
    theirs = books.hold("shop", "w", 10_00, expires_at=EXPIRES)  # the payee's own
    mine = books.hold("w", "shop", 60_00, expires_at=EXPIRES)
    clock.set(EXPIRES)
    getattr(books, operation)("w", "shop", 50_00)  # needs w's expired hold freed
    assert books.get_hold(mine.id).status == "expired"
    assert books.get_hold(theirs.id).status == "pending"  # not needed: left to the sweep


@pytest.mark.parametrize("operation", ["transfer", "hold"])
def test_one_paisa_is_enough_to_free_an_expired_hold(books, clock, operation):
    """A one-paisa hold that expired is freed for an operation that needs it,
    and a one-paisa operation frees an expired hold it needs."""
    if operation == "transfer":
        books.hold("w", "shop", 1, expires_at=EXPIRES)
        clock.set(EXPIRES)
        books.transfer("w", "shop", 100_00)  # all of it: the paisa held too
    else:
        books.hold("w", "shop", 100_00, expires_at=EXPIRES)
        clock.set(EXPIRES)
        books.hold("w", "bank", 1)
    left = 0 if operation == "transfer" else 100_00 - 1
    assert books.balance("w").available_paise == left


def test_the_postgresql_chain_hash_hashes_the_same_text():
    """ledgerlib.fastpath hashes in SQL what posting_hash hashes in Python:
    the same fields, in the same order, joined by '|' (the PostgreSQL tests
    compare the two on real rows; this pins the text where SQLite runs)."""
    from ledgerlib.chain import sql_hash

    parts = " || '|' || ".join(f"CAST({p} AS text)" for p in "abcdefg")
    assert sql_hash(*"abcdefg") == f"encode(sha256(convert_to({parts}, 'UTF8')), 'hex')"


def test_freeing_counts_only_pending_holds_and_never_lets_too_much_through(books, clock):
    released = books.hold("w", "shop", 30_00, expires_at=EXPIRES)
    clock.set(JUST_BEFORE)
    books.release_hold(released.id)  # released: past its expiry soon, but not held
    clock.set(EXPIRES - dt.timedelta(minutes=30))
    expired = books.hold("w", "shop", 10_00, expires_at=EXPIRES)
    clock.set(EXPIRES)
    before = books.balance("w")
    with pytest.raises(InsufficientFunds):
        books.hold("w", "shop", 150_00)  # freeing 10 does not make 150 fit
    assert books.get_hold(expired.id).status == "pending"  # refused: nothing written
    assert books.balance("w") == before
    books.transfer("w", "shop", 100_00)  # needs the 10 freed, and only the 10
    assert (books.balance("w").posted_paise, books.balance("w").held_paise) == (0, 0)
    assert books.get_hold(released.id).status == "released"
    assert ledgerlib.verify(books.session).ok
