"""Scheduled payments' settings (wallet.settings): read once, typed, their
defaults the policy's own, bad values refused at start-up."""
from __future__ import annotations

import pytest

from wallet.money.schedules import SchedulePolicy
from wallet.services import Services
from wallet.settings import ConfigurationError, WalletSettings


def test_defaults_are_the_policys():
    policy = Services(None, WalletSettings.from_dict({})).schedule_policy  # type: ignore[arg-type]
    assert policy == SchedulePolicy()
    assert (policy.notice_hours, policy.run_cap_paise, policy.retry,
            policy.retry_delay_s) == (24.0, 5_000_00, True, 21_600.0)


def test_read_from_the_ini():
    settings = WalletSettings.from_dict({
        "wallet.schedule_notice_hours": "48", "wallet.schedule_run_cap_paise": "100000",
        "wallet.schedule_retry": "false", "wallet.schedule_retry_delay_s": "3600"})
    assert Services(None, settings).schedule_policy == SchedulePolicy(  # type: ignore[arg-type]
        notice_hours=48.0, run_cap_paise=1_000_00, retry=False, retry_delay_s=3600.0)


@pytest.mark.parametrize("key,value", [
    ("wallet.schedule_notice_hours", "-1"), ("wallet.schedule_run_cap_paise", "12.5"),
    ("wallet.schedule_retry_delay_s", "0"), ("wallet.schedule_run_cap_paise", "-5")])
def test_bad_values_stop_the_start(key, value):
    with pytest.raises(ConfigurationError, match=key.split(".")[1]):
        WalletSettings.from_dict({key: value})
