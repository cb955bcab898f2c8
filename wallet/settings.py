"""The wallet's settings: read once from the ini, typed, with units in the names.

A setting that configures a capability's policy (``PinPolicy``, ``LimitPolicy``,
``PayoutPolicy``...) defaults to the policy's own default: each value is
written once, in the policy (wallet.services builds the policies from these).

:class:`WalletSettings` is the one object the domain reads. Each adapter reads
its own keys (cookie names, queue backend) from :attr:`WalletSettings.raw`, in
one place of its own.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .banking.auto_settlement import SettlementPolicy
from .banking.bank_delays import DelayPolicy
from .banking.banks import BankConfig, load_banks
from .banking.merchant_bank_accounts import BankAccountPolicy
from .banking.payouts import PayoutPolicy
from .care.auto_resolve import AutoResolvePolicy
from .care.compensation import CompensationPolicy
from .care.tickets import TicketPolicy, parse_due_hours
from .core.ini import (
    ConfigurationError,
    as_bool,
    check_secret,
    is_production,
    load_settings,
    require_secret,
    resolve_settings,
)
from .identity.pan_vault import PanKeys
from .identity.passkey_policy import PasskeyPolicy
from .identity.phone_codes import OtpPolicy, otp_secret
from .identity.pin_hashes import PinKeys, parse_pin_keys
from .identity.pins import PinPolicy
from .identity.sms import check_sms_gateway
from .merchants.disputes import DisputePolicy
from .merchants.mandate_rules import MIN_PRODUCTION_NOTICE_S, MandatePolicy
from .merchants.refunds import RefundPolicy
from .merchants.webhooks import WebhookPolicy
from .money.limits import LimitPolicy
from .money.money_requests import RequestPolicy
from .money.receipt_keys import ReceiptKeyRing
from .money.schedules import SchedulePolicy
from .money.transfer_holds import UndoPolicy

__all__ = ["ConfigurationError", "WalletSettings", "as_bool", "check_secret", "is_production",
           "load_settings", "require_secret", "resolve_settings"]

DEFAULT_TASK_QUEUE = "huey_tasks.queue:HueyTaskQueue"
DEFAULT_KYC_VERIFIER = "wallet.identity.kyc:ApproveAllVerifier"
T = TypeVar("T")
Number = TypeVar("Number", int, float)


def _read(settings: Mapping[str, Any], key: str, default: T, parse: Callable[[str], T]) -> T:
    value = settings.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    try:
        return parse(str(value).strip())
    except ValueError:
        raise ConfigurationError(f"setting {key} = {value!r} is not a valid "
                                 f"{getattr(parse, '__name__', 'value')}") from None


def _positive(parse: Callable[[str], Number]) -> Callable[[str], Number]:
    def positive(text: str) -> Number:
        value = parse(text)
        if not value > 0:
            raise ValueError(text)
        return value

    positive.__name__ = f"positive {parse.__name__}"
    return positive


def _not_negative(parse: Callable[[str], Number]) -> Callable[[str], Number]:
    def not_negative(text: str) -> Number:
        value = parse(text)
        if not value >= 0:
            raise ValueError(text)
        return value

    not_negative.__name__ = f"non-negative {parse.__name__}"
    return not_negative


@dataclass(frozen=True)
class WalletSettings:
    """Everything the domain reads from the configuration, parsed once."""

    raw: Mapping[str, Any] = field(repr=False)
    #: The banks we take deposits from and pay out to (wallet.banking.banks).
    banks: Mapping[str, BankConfig] = field(default_factory=dict, repr=False)
    environment: str = "development"
    database_url: str = ""
    #: The most one transfer or shop payment may move.
    max_transfer_paise: int = 1_00_000_00
    bcrypt_rounds: int = 12
    #: Where customers pay (merchant QR codes point here).
    user_app_url: str = ""
    bank_timeout_s: float = 5.0
    #: A deposit still pending after this long is checked with the bank's status
    #: API (and, while it stays pending, again every this long).
    deposit_stuck_after_s: float = 600.0
    #: A deposit not finished at the bank by then is given up (and credited
    #: after all should the bank still confirm it).
    deposit_expire_after_s: float = 1800.0
    #: > the bank timeout, so a live worker never loses its lane.
    payout_lease_s: float = PayoutPolicy.lease_s
    #: Unclear answers from the bank before a human looks at the payout.
    payout_retry_budget: int = PayoutPolicy.retry_budget
    payout_backoff_base_s: float = PayoutPolicy.backoff_base_s
    payout_backoff_cap_s: float = PayoutPolicy.backoff_cap_s
    #: A payout nobody touched for this long is picked up by the recovery task.
    payout_resume_after_s: float = 120.0
    #: ``module:factory`` of the queue that runs work after commit (see wallet.core.tasks).
    task_queue: str = DEFAULT_TASK_QUEUE
    # Webhooks to shops' servers (wallet.merchants.webhooks): each call's time
    # and answer size are bounded; retries back off exponentially with jitter
    # from ``base`` up to ``cap`` between tries, for ``retry_window`` after the
    # first try; an endpoint failing continuously for ``disable_after`` is
    # disabled. A rotated secret keeps signing for ``secret_grace``. Due
    # deliveries whose task was lost are re-sent by the sweeper after
    # ``resume_after``.
    webhook_timeout_s: float = WebhookPolicy.timeout_s
    webhook_max_response_bytes: int = WebhookPolicy.max_response_bytes
    webhook_backoff_base_s: float = WebhookPolicy.backoff_base_s
    webhook_backoff_cap_s: float = WebhookPolicy.backoff_cap_s
    webhook_retry_window_s: float = WebhookPolicy.retry_window_s
    webhook_disable_after_s: float = WebhookPolicy.disable_after_s
    webhook_secret_grace_s: float = WebhookPolicy.secret_grace_s
    webhook_resume_after_s: float = WebhookPolicy.resume_after_s
    #: Endpoints on private, loopback, link-local... addresses, and plain http
    #: (development only: production refuses to start with it).
    webhook_allow_private_urls: bool = WebhookPolicy.allow_private_urls
    # Measured bank delays shown to users (wallet.banking.bank_delays): the latest
    # ``samples`` settled payouts / deposits per bank within ``window``; a bank
    # is degraded when their p90, or its oldest open payout, passes ``p90``, or
    # when ``failure_ratio`` of its recent payout calls had no clear answer.
    bank_delay_window_s: float = DelayPolicy.window_s
    bank_delay_samples: int = DelayPolicy.samples
    bank_delay_degraded_p90_s: float = DelayPolicy.degraded_p90_s
    bank_delay_degraded_failure_ratio: float = DelayPolicy.degraded_failure_ratio
    #: Pages reuse a measurement for this long (per process).
    bank_delay_cache_s: float = 30.0
    # Step-up (wallet.identity.pins): wrong PINs in a row before money movement is
    # locked, and for how long; the server-side keys of PIN hashes
    # (wallet.identity.pin_hashes: ``wallet.pin_keys`` "id:secret ...", the current one
    # ``wallet.pin_key_id``), required by the user app and the API.
    pin_max_tries: int = PinPolicy.max_tries
    pin_lock_s: float = PinPolicy.lock_s
    pin_keys: PinKeys | None = field(default=None, repr=False)
    #: A bank account a shop adds for its settlements takes them only this
    #: long after (wallet.banking.merchant_bank_accounts): time for the owner to see
    #: the notification should it not be theirs. 0: at once.
    settlement_account_cooling_off_s: float = BankAccountPolicy.cooling_off_s
    # Wallet limits (wallet.money.limits), as Indian prepaid wallets have them: a
    # minimum-KYC wallet holds at most ``min_kyc_max_balance`` and takes in at
    # most ``min_kyc_monthly_bank`` a month from banks; a full-KYC wallet holds
    # at most ``full_kyc_max_balance``.
    min_kyc_max_balance_paise: int = LimitPolicy.min_kyc_max_balance_paise
    min_kyc_monthly_bank_paise: int = LimitPolicy.min_kyc_monthly_bank_paise
    full_kyc_max_balance_paise: int = LimitPolicy.full_kyc_max_balance_paise
    #: ``module:factory`` of the KYC verifier (wallet.identity.kyc.KycVerifier); the
    #: default approves everyone (development): production refuses it.
    kyc_verifier: str = DEFAULT_KYC_VERIFIER
    #: Money requests one user may make a day (India's day; a split bill's
    #: shares count): wallet.money.money_requests, against request spam.
    money_requests_per_day: int = RequestPolicy.max_per_day
    #: The keys PANs are sealed and fingerprinted with (wallet.identity.pan_vault); None
    #: when not configured (outside production only: KYC cannot be used then).
    pan_keys: PanKeys | None = field(default=None, repr=False)
    # AutoPay mandates (wallet.merchants.mandates): a debit executes no earlier
    # than ``notice`` after the customer is told of it (production: 24 h at
    # least); a debit above ``pin_cap`` needs the customer's PIN each time.
    mandate_notice_s: float = MandatePolicy.notice_s
    mandate_pin_cap_paise: int = MandatePolicy.pin_cap_paise
    # Scheduled payments (wallet.money.schedules): the payer is told of a run
    # ``notice_hours`` before it; a run above ``run_cap`` waits for the PIN in
    # the app; a refused run is tried once more ``retry_delay`` later if
    # ``retry``.
    schedule_notice_hours: float = SchedulePolicy.notice_hours
    schedule_run_cap_paise: int = SchedulePolicy.run_cap_paise
    schedule_retry: bool = SchedulePolicy.retry
    schedule_retry_delay_s: float = SchedulePolicy.retry_delay_s
    #: Tickets (wallet.care.tickets): hours from a report to its answer, by
    #: category ("not_received:24 not_delivered:168 ...": the others keep theirs).
    ticket_due_hours: tuple[tuple[str, float], ...] = TicketPolicy.due_hours
    #: Automatic answers to tickets (wallet.care.auto_resolve): two payments
    #: alike this close are twins for "paid twice"; the sweep examines tickets
    #: never examined once they are this old (their task lost).
    ticket_twin_window_s: float = AutoResolvePolicy.twin_window_s
    ticket_examine_after_s: float = AutoResolvePolicy.sweep_after_s
    #: Compensation for late reversals (wallet.care.compensation): the deadline
    #: in days after the transaction's (India) day, T+1 person-to-person, deposits
    #: and withdrawals, T+5 shop payments; the credit per day late.
    reversal_deadline_days_p2p: int = CompensationPolicy.p2p_days
    reversal_deadline_days_shop: int = CompensationPolicy.shop_days
    compensation_paise_per_day: int = CompensationPolicy.paise_per_day
    # Disputes of shop payments (wallet.merchants.disputes): the shop has
    # ``dispute_respond_s`` to accept or contest, else the customer wins.
    dispute_respond_s: float = DisputePolicy.respond_s
    # A first payment to a new payee above ``undo_above`` is held for
    # ``undo_window`` (wallet.money.transfer_holds): the sender may undo it.
    undo_above_paise: int = UndoPolicy.above_paise
    undo_window_s: float = UndoPolicy.window_s
    #: The keys that sign payment receipts (wallet.money.receipt_keys): None when not
    #: configured (outside production only: no receipts then).
    receipt_keys: ReceiptKeyRing | None = field(default=None, repr=False)
    #: A refund from the merchant app above this needs the shop PIN
    #: (wallet.merchants.refund_quotes); 0: every refund does.
    merchant_refund_confirm_above_paise: int = RefundPolicy.confirm_above_paise
    # A shop's settlement by hand above this needs the shop PIN
    # (wallet.banking.auto_settlement; automatic ones have the schedule's).
    merchant_settle_confirm_above_paise: int = SettlementPolicy.confirm_above_paise
    # The counter's announcer (wallet.merchants.counter): the secret its
    # stream tokens are signed with (the merchant app and the announcer
    # need it; production refuses a weak one, and those two apps a missing
    # one), and how long a token lives.
    counter_token_secret: str | None = field(default=None, repr=False)
    counter_token_ttl_s: float = 600.0
    #: Passkeys' relying party (wallet.identity.passkey_policy): None when not
    #: configured (outside production only: the user app requires it there).
    passkeys: PasskeyPolicy | None = field(default=None, repr=False)
    # One-time codes by SMS (wallet.identity.phone_codes): a code lives
    # ``otp_code_ttl_s``, allows ``otp_max_tries`` wrong tries; at most
    # ``otp_sends_per_hour`` codes to a phone an hour, a resend no sooner than
    # ``otp_resend_after_s``. ``otp_secret``: the key of their stored HMACs
    # (``wallet.otp_secret``; production refuses a missing or weak one).
    otp_code_ttl_s: float = OtpPolicy.code_ttl_s
    otp_max_tries: int = OtpPolicy.max_tries
    otp_sends_per_hour: int = OtpPolicy.sends_per_hour
    otp_resend_after_s: float = OtpPolicy.resend_after_s
    otp_secret: bytes = field(default=b"", repr=False)
    #: The SMS gateway (wallet.identity.sms): ``outbox`` (development: production
    #: refuses it), ``msg91``, or ``module:factory``.
    sms_gateway: str = "outbox"
    #: The user app's /dev/sms page (the outbox's messages): development only.
    sms_outbox_page: bool = False

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @classmethod
    def from_dict(cls, settings: Mapping[str, Any]) -> WalletSettings:
        """Every setting read once (``wallet.<field>``, or the key _KEYS names),
        parsed by its entry in _PARSERS, defaulting to the field's default."""
        fields = cls.__dataclass_fields__
        values: dict[str, Any] = {
            name: _read(settings, _KEYS.get(name, f"wallet.{name}"), fields[name].default, parse)
            for name, parse in _PARSERS.items()}
        values["user_app_url"] = values["user_app_url"].rstrip("/")
        if values["webhook_allow_private_urls"] and is_production(settings):
            raise ConfigurationError("wallet.webhook_allow_private_urls must be false in "
                                     "production: shops' servers are outside our network")
        if is_production(settings):
            refuse_development_verifier(values["kyc_verifier"])
        if is_production(settings) and values["mandate_notice_s"] < MIN_PRODUCTION_NOTICE_S:
            raise ConfigurationError("wallet.mandate_notice_s: customers get at least 24 hours' "
                                     "notice of an AutoPay debit (86400) in production")
        production = is_production(settings)
        if production and values["sms_outbox_page"]:
            raise ConfigurationError("wallet.sms_outbox_page must be off in production: it "
                                     "shows every SMS sent")
        check_sms_gateway(values["sms_gateway"], settings, production=production)
        values["otp_secret"] = otp_secret(str(settings.get("wallet.otp_secret") or ""),
                                          production=production)
        return cls(raw=dict(settings), banks=load_banks(settings), pin_keys=_pin_keys(settings),
                   pan_keys=PanKeys.from_settings(settings),
                   receipt_keys=ReceiptKeyRing.from_settings(settings),
                   counter_token_secret=_counter_token_secret(settings),
                   passkeys=PasskeyPolicy.from_settings(
                       settings, production=is_production(settings)), **values)


_POSITIVE_INT, _POSITIVE_FLOAT = _positive(int), _positive(float)
#: Where a setting is not ``wallet.<field>``.
_KEYS = {"database_url": "sqlalchemy.url"}
#: How each plain setting is read (the others: banks, pin_keys, pan_keys, receipt_keys,
#: passkeys, raw).
_PARSERS: dict[str, Callable[[str], Any]] = {
    "environment": str, "database_url": str, "user_app_url": str, "task_queue": str,
    "kyc_verifier": str, "webhook_allow_private_urls": as_bool,
    "max_transfer_paise": _POSITIVE_INT, "bcrypt_rounds": _POSITIVE_INT,
    "bank_timeout_s": _POSITIVE_FLOAT,
    "deposit_stuck_after_s": float, "deposit_expire_after_s": _POSITIVE_FLOAT,
    "payout_lease_s": _POSITIVE_FLOAT, "payout_retry_budget": _POSITIVE_INT,
    "payout_backoff_base_s": float, "payout_backoff_cap_s": float,
    "payout_resume_after_s": float,
    "webhook_timeout_s": _POSITIVE_FLOAT, "webhook_max_response_bytes": _POSITIVE_INT,
    "webhook_backoff_base_s": _POSITIVE_FLOAT, "webhook_backoff_cap_s": _POSITIVE_FLOAT,
    "webhook_retry_window_s": _POSITIVE_FLOAT, "webhook_disable_after_s": _POSITIVE_FLOAT,
    "webhook_secret_grace_s": float, "webhook_resume_after_s": _POSITIVE_FLOAT,
    "bank_delay_window_s": _POSITIVE_FLOAT, "bank_delay_samples": _POSITIVE_INT,
    "bank_delay_degraded_p90_s": _POSITIVE_FLOAT,
    "bank_delay_degraded_failure_ratio": _POSITIVE_FLOAT, "bank_delay_cache_s": float,
    "pin_max_tries": _POSITIVE_INT, "pin_lock_s": _POSITIVE_FLOAT,
    "settlement_account_cooling_off_s": _not_negative(float),
    "min_kyc_max_balance_paise": _POSITIVE_INT, "min_kyc_monthly_bank_paise": _POSITIVE_INT,
    "full_kyc_max_balance_paise": _POSITIVE_INT,
    # Users' money requests and split bills.
    "money_requests_per_day": _POSITIVE_INT,
    "mandate_notice_s": _not_negative(float), "mandate_pin_cap_paise": _POSITIVE_INT,
    # Scheduled payments.
    "schedule_notice_hours": _not_negative(float), "schedule_run_cap_paise": _not_negative(int),
    "schedule_retry": as_bool, "schedule_retry_delay_s": _POSITIVE_FLOAT,
    # Tickets.
    "ticket_due_hours": parse_due_hours,
    "ticket_twin_window_s": _POSITIVE_FLOAT, "ticket_examine_after_s": _not_negative(float),
    # Compensation for late reversals.
    "reversal_deadline_days_p2p": _not_negative(int),
    "reversal_deadline_days_shop": _not_negative(int),
    "compensation_paise_per_day": _POSITIVE_INT,
    # Disputes of shop payments.
    "dispute_respond_s": _POSITIVE_FLOAT,
    # A first payment's undo window.
    "undo_above_paise": _not_negative(int), "undo_window_s": _POSITIVE_FLOAT,
    # The merchant app's refunds: the shop PIN above this.
    "merchant_refund_confirm_above_paise": _not_negative(int),
    # Shops' settlements.
    "merchant_settle_confirm_above_paise": _not_negative(int),
    # The counter's announcer.
    "counter_token_ttl_s": _POSITIVE_FLOAT,
    # One-time codes by SMS (otp_secret: read and checked on its own).
    "otp_code_ttl_s": _POSITIVE_FLOAT, "otp_max_tries": _POSITIVE_INT,
    "otp_sends_per_hour": _POSITIVE_INT, "otp_resend_after_s": _not_negative(float),
    "sms_gateway": str, "sms_outbox_page": as_bool,
}


def refuse_development_verifier(spec: str) -> None:
    """Production checks with a real registry: a verifier factory marked
    ``development_only`` (the approve-all one) stops the start-up, whatever
    name it is given under."""
    from .identity.kyc import verifier_factory  # (kyc reads the models; settings are read first)

    try:
        factory = verifier_factory(spec)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigurationError(f"wallet.kyc_verifier = {spec!r} cannot be loaded: "
                                 f"{exc}") from None
    if getattr(factory, "development_only", False):
        raise ConfigurationError(f"wallet.kyc_verifier = {spec!r} approves everyone: "
                                 "production needs a real verifier "
                                 "(wallet.identity.kyc.KycVerifier)")


def _pin_keys(settings: Mapping[str, Any]) -> PinKeys | None:
    """The PIN keys, checked as secrets are (production: long and random).
    None when not set: the apps that set or check PINs refuse to start then
    (webcommon.use_pins); the others never need them."""
    text = str(settings.get("wallet.pin_keys") or "")
    if not text.strip():
        return None
    return parse_pin_keys(text, str(settings.get("wallet.pin_key_id") or ""),
                          production=is_production(settings))


def _counter_token_secret(settings: Mapping[str, Any]) -> str | None:
    """The counter's stream-token secret, checked as secrets are; None when
    not set (the apps that sign or check tokens refuse to start then in
    production: wallet.merchants.counter)."""
    text = str(settings.get("wallet.counter_token_secret") or "")
    if not text.strip():
        return None
    return check_secret(text, "wallet.counter_token_secret", production=is_production(settings))
