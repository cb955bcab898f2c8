"""Disputes of shop payments (wallet.merchants.disputes), through the domain:
the disputed money held so the shop cannot settle it; accepted -> the
customer refunded; no answer -> decided for the customer at the deadline;
contested -> an operator decides either way (audited); bad input refused with
nothing written; the shop's webhooks; the books verified after every step."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from wallet.core.errors import WalletError
from wallet.core.models import Merchant, MerchantNotification, Notification, User
from wallet.merchants.errors import (
    DisputeAlreadyOpen,
    DisputeClosed,
    DisputeNotFound,
    NotDisputable,
    NothingToDispute,
)
from wallet.merchants.models import Dispute, Refund
from wallet.money.errors import InsufficientBalance
from wallet.operations.audit import Actor, AuditLog
from wallet.operations.bank_calls import verify_all

from ..mandate_helpers import Clock, event_types, make_shop, services
from ..wallet_helpers import (
    PIN,
    SHOP_ACCOUNT,
    SHOP_PIN,
    balance,
    make_user,
    ready_to_settle,
    state,
)

DAY = 24 * 3600


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def shop(db):
    return make_shop(db, "dosa-corner")


@pytest.fixture
def asha(db):
    return make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)


def pay(db, clock, user_id, shop_id, amount_paise, key="pay-key-000000000001"):
    with db() as session, session.begin():
        return services(session, clock).shop_payments.pay_shop(
            session.get_one(User, user_id), session.get_one(Merchant, shop_id), amount_paise,
            f"payment:{user_id}:{key}", pin=PIN).id


def shop_balance(db, shop_id):
    """(posted, held) of the shop's wallet."""
    with db() as session:
        b = services(session, Clock()).ledger.balance(f"merchant:{shop_id}:wallet")
        return b.posted_paise, b.held_paise


def books_clean(db):
    with db() as session:
        result = verify_all(session)
        assert result.ok, (result.ledger.problems, result.records)


def open_dispute(db, clock, user_id, payment_id, reason="not_delivered", **kwargs):
    with db() as session, session.begin():
        dispute = services(session, clock).disputes.open(user_id, payment_id, reason,
                                                         **kwargs)
        return dispute.id, dispute.public_id


def shop_does(db, clock, shop_id, what, public_id, *args):
    with db() as session, session.begin():
        disputes = services(session, clock).disputes
        return getattr(disputes, what)(session.get_one(Merchant, shop_id), public_id,
                                       *args).status


def settle(db, clock, shop_id, amount_paise):
    with db() as session, session.begin():
        bank, number, ifsc = SHOP_ACCOUNT
        return services(session, clock).withdrawals.request(
            session.get_one(Merchant, shop_id), bank, number, ifsc, amount_paise,
            f"settle-key-{amount_paise:010d}", pin=SHOP_PIN).status


def decide(db, clock, dispute_id, for_customer, reason="looked at the evidence"):
    with db() as session, session.begin():
        actions = services(session, clock).operator_actions(Actor("meera", "operator", "console"))
        return actions.decide_dispute(dispute_id, for_customer, reason)


def notices(db, model, owner_column, owner_id):
    with db() as session:
        return list(session.scalars(select(model.kind).where(owner_column == owner_id)
                                    .order_by(model.id)))


def test_the_held_amount_cannot_be_settled_and_accepting_refunds_the_customer(
        db, clock, shop, asha):
    payment = pay(db, clock, asha, shop, 300_00)
    with db() as session, session.begin():
        services(session, clock).refunds.refund(session.get_one(Merchant, shop), payment,
                                                50_00, "refund-key-00000001")
    dispute_id, public_id = open_dispute(db, clock, asha, payment, note="never came",
                                         ticket_id=77)
    assert shop_balance(db, shop) == (250_00, 250_00)  # 300 paid, 50 refunded: 250 held
    books_clean(db)
    ready_to_settle(db, shop)
    before = state(db)
    with pytest.raises(InsufficientBalance):
        settle(db, clock, shop, 1_00)
    assert state(db) == before
    assert "dispute_opened" in notices(db, MerchantNotification,
                                       MerchantNotification.merchant_id, shop)
    with db() as session:
        dispute = session.get_one(Dispute, dispute_id)
        assert (dispute.status, dispute.disputed_paise, dispute.held_paise,
                dispute.ticket_id) == ("open", 250_00, 250_00, 77)
        # A refund of what is disputed is refused: the dispute speaks for it.
        with pytest.raises(WalletError, match="left to refund"):
            services(session, clock).refunds.refund(session.get_one(Merchant, shop), payment,
                                                    1_00, "refund-key-00000002")

    assert shop_does(db, clock, shop, "accept", public_id) == "accepted"
    assert balance(db, asha) == (1_000_00 - 300_00 + 300_00, 0)
    assert shop_balance(db, shop) == (0, 0)
    with db() as session:
        assert services(session, clock).refunds.refunded_paise(payment) == 300_00
        assert session.scalar(select(func.count()).select_from(Refund)) == 2
    assert notices(db, Notification, Notification.user_id, asha)[-1] == "dispute_refunded"
    assert event_types(db, shop)[-2:] == ["dispute.opened", "dispute.accepted"]
    books_clean(db)
    # Answered: a second answer is refused, nothing written.
    before = state(db)
    with pytest.raises(DisputeClosed):
        shop_does(db, clock, shop, "contest", public_id, "it was delivered")
    with pytest.raises(DisputeClosed):
        shop_does(db, clock, shop, "accept", public_id)
    assert state(db) == before
    # Refunded in full now: nothing left to dispute.
    with pytest.raises(NothingToDispute):
        open_dispute(db, clock, asha, payment)


def test_no_answer_by_the_deadline_decides_for_the_customer(db, runner, clock, shop, asha):
    payment = pay(db, clock, asha, shop, 200_00)
    _, public_id = open_dispute(db, clock, asha, payment, reason="not_authorised")
    background = background_of(runner, clock)
    clock.advance(seconds=7 * DAY - 60)
    assert background.expire_due_disputes() == []
    clock.advance(seconds=60)
    assert background.expire_due_disputes() == [public_id]
    assert background.expire_due_disputes() == []  # once
    assert balance(db, asha) == (1_000_00, 0) and shop_balance(db, shop) == (0, 0)
    assert event_types(db, shop)[-2:] == ["dispute.opened", "dispute.lost"]
    books_clean(db)
    with pytest.raises(DisputeClosed, match="lost already"):
        shop_does(db, clock, shop, "contest", public_id, "too late")


def test_a_late_contest_is_refused_before_the_sweep(db, clock, shop, asha):
    payment = pay(db, clock, asha, shop, 200_00)
    _, public_id = open_dispute(db, clock, asha, payment)
    clock.advance(seconds=7 * DAY)
    before = state(db), event_types(db, shop)
    with pytest.raises(DisputeClosed, match="time to answer"):
        shop_does(db, clock, shop, "contest", public_id, "it was delivered")
    assert (state(db), event_types(db, shop)) == before


@pytest.mark.parametrize("for_customer", [True, False], ids=["customer", "shop"])
def test_contested_then_an_operator_decides(db, clock, shop, asha, for_customer):
    payment = pay(db, clock, asha, shop, 400_00)
    dispute_id, public_id = open_dispute(db, clock, asha, payment)
    assert shop_does(db, clock, shop, "contest", public_id,
                     "Delivered on 3 Dec,\nsigned by the customer.") == "contested"
    books_clean(db)
    clock.advance(seconds=8 * DAY)  # a contested dispute waits for the operator, not the clock
    with db() as session:
        assert [d.id for d in services(session, clock).disputes.contested()] == [dispute_id]
    result = decide(db, clock, dispute_id, for_customer)
    assert result.ok, result.message
    assert result.message.endswith("lost" if for_customer else "won")
    if for_customer:
        assert balance(db, asha) == (1_000_00, 0) and shop_balance(db, shop) == (0, 0)
    else:
        assert balance(db, asha) == (600_00, 0) and shop_balance(db, shop) == (400_00, 0)
    assert notices(db, Notification, Notification.user_id, asha)[-1] == (
        "dispute_refunded" if for_customer else "dispute_rejected")
    assert event_types(db, shop)[-3:] == [
        "dispute.opened", "dispute.contested", "dispute.lost" if for_customer else "dispute.won"]
    with db() as session:
        audit = AuditLog(session).entries()[0]
        assert (audit.action, audit.object_id, audit.outcome) == (
            "decide_for_customer" if for_customer else "decide_for_shop", str(dispute_id),
            "done")
    books_clean(db)
    again = decide(db, clock, dispute_id, not for_customer)
    assert not again.ok and "not contested" in again.message


def test_bad_input_is_refused_and_nothing_is_written(db, clock, shop, asha):
    ravi = make_user(db, "+919812345678", "Ravi", deposit_paise=100_00)
    other_shop = make_shop(db, "chai-point")
    payment = pay(db, clock, asha, shop, 100_00)
    before = state(db), event_types(db, shop)
    for user, reason, note, error in [
            (ravi, "not_delivered", "", NotDisputable),  # someone else's payment
            (asha, "changed_my_mind", "", WalletError),
            (asha, "not_delivered", "x" * 501, WalletError)]:
        with pytest.raises(error):
            open_dispute(db, clock, user, payment, reason, note=note)
    with pytest.raises(NotDisputable):
        open_dispute(db, clock, asha, 999_999)
    assert (state(db), event_types(db, shop)) == before
    _, public_id = open_dispute(db, clock, asha, payment)
    with pytest.raises(DisputeAlreadyOpen):
        open_dispute(db, clock, asha, payment)
    before = state(db), event_types(db, shop)
    with pytest.raises(DisputeNotFound):
        shop_does(db, clock, other_shop, "accept", public_id)
    for evidence in ["", "   ", "x" * 2001, "bad\x00byte"]:
        with pytest.raises(WalletError) as refused:
            shop_does(db, clock, shop, "contest", public_id, evidence)
        assert refused.value.field == "evidence"
    assert (state(db), event_types(db, shop)) == before


def test_a_shop_short_of_money_has_what_there_is_held(db, clock, shop, asha):
    payment = pay(db, clock, asha, shop, 300_00)
    ready_to_settle(db, shop)
    assert settle(db, clock, shop, 200_00) == "queued"
    dispute_id, public_id = open_dispute(db, clock, asha, payment)
    with db() as session:
        dispute = session.get_one(Dispute, dispute_id)
        assert (dispute.disputed_paise, dispute.held_paise) == (300_00, 100_00)
    assert shop_balance(db, shop) == (300_00, 300_00)  # 200 settling, 100 disputed
    books_clean(db)
    assert shop_does(db, clock, shop, "accept", public_id) == "accepted"
    assert balance(db, asha) == (800_00, 0)
    books_clean(db)
    with db() as session:
        held, lost = services(session, clock).disputes.figures(session.get_one(Merchant, shop))
        assert (held, lost) == (0, 100_00)


def test_a_shop_with_several_receiving_shards_has_them_swept_for_the_hold(
        db, clock, shop, asha):
    with db() as session, session.begin():
        services(session, clock).shop_payments.set_receiving_shards(
            session.get_one(Merchant, shop), 4)
    payments = [pay(db, clock, asha, shop, 50_00, key=f"pay-key-00000000000{i}")
                for i in range(4)]
    _, public_id = open_dispute(db, clock, asha, payments[0])
    assert shop_balance(db, shop) == (200_00, 50_00)  # all swept into shard 0
    books_clean(db)
    assert shop_does(db, clock, shop, "accept", public_id) == "accepted"
    assert balance(db, asha) == (850_00, 0)
    books_clean(db)


def background_of(runner, clock):
    from wallet.services import Background

    from ..wallet_helpers import services_for_tests
    return Background(runner, services_for_tests(None).settings, clock=clock)
