"""The vocabularies of wallet.core.codes are typed (StrEnum), keep their
stored words, and each ALL (a tuple of values, not a member) lists them all."""
from __future__ import annotations

import enum
import json

import pytest

from wallet.banking.verdicts import Verdict
from wallet.core import codes
from wallet.core.codes import DepositAnswer, PayoutAnswer, Settled, Status

WITH_ALL = [codes.KycLevel, codes.Kind, codes.Status, codes.RequestStatus, codes.Delivery,
            codes.Event, codes.PayoutAnswer, codes.DepositAnswer,
            # AutoPay mandates.
            codes.MandateStatus, codes.MandateFrequency, codes.DebitStatus,
            # Scheduled payments.
            codes.ScheduleFrequency, codes.ScheduleStatus, codes.RunStatus,
            # Money requests and split bills.
            codes.MoneyRequestStatus, codes.SplitMode, codes.SplitStatus,
            codes.TicketCategory, codes.TicketStatus, codes.TicketEventKind,
            codes.TicketActor,
            # Disputes of shop payments.
            codes.DisputeStatus, codes.DisputeReason]


@pytest.mark.parametrize("vocabulary", WITH_ALL, ids=lambda v: v.__name__)
def test_all_lists_every_member_and_is_none(vocabulary):
    assert issubclass(vocabulary, enum.StrEnum)
    assert tuple(member.value for member in vocabulary) == vocabulary.ALL
    assert "ALL" not in vocabulary.__members__


def test_groupings_are_statuses_not_members():
    for group in (Status.PAYOUT_OPEN, Status.PAYOUT_IN_FLIGHT, Status.WITHDRAWAL):
        assert set(group) <= set(Status.ALL)
    assert len(Status) == 8
    assert set(codes.RunStatus.DUE) <= set(codes.RunStatus.OPEN) <= set(codes.RunStatus.ALL)
    assert set(codes.ScheduleStatus.LIVE) <= set(codes.ScheduleStatus.ALL)


def test_a_member_is_its_stored_word():
    assert Status.NEEDS_REVIEW == "needs_review" and f"{Status.NEEDS_REVIEW}" == "needs_review"
    assert json.dumps({"status": Status.COMPLETED}) == '{"status": "completed"}'


def test_answers_lead_to_statuses_explicitly():
    assert {a: a.status for a in PayoutAnswer} == {
        PayoutAnswer.ACCEPTED: Status.COMPLETED, PayoutAnswer.REJECTED: Status.FAILED,
        PayoutAnswer.REVERSED: Status.REVERSED}
    assert {a: a.status for a in DepositAnswer} == {
        DepositAnswer.SUCCESS: Status.SUCCESS, DepositAnswer.FAILED: Status.FAILED}
    assert all(type(a.status) is Status for a in [*PayoutAnswer, *DepositAnswer])


def test_every_settled_word_has_one_verdict():
    verdicts = {s: Verdict.of(s) for s in Settled}
    assert {s for s, v in verdicts.items() if v == Verdict.APPLIED} == {
        Settled.CREDITED, Settled.COMPLETED, Settled.FAILED, Settled.REVERSED}
    assert verdicts[Settled.ALREADY_SETTLED] == Verdict.ALREADY_SETTLED == "already_settled"
