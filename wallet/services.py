"""The domain's services for one unit of work (a request, a task step, a CLI
command), configured once from the typed settings: adapters ask this object
for a service instead of each reading settings of their own.

The one place a service is built for the apps, the workers and the CLIs
(tests/domain/test_one_way_to_build.py checks it): each policy is made here from the
settings, and no constructor of the domain has a default policy of its own.
:class:`Background` builds what runs its own transactions (the workers')."""
from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ledgerlib import Ledger

from .banking.auto_settlement import AutoSettlements, SettlementPolicy, SweepStep
from .banking.bank_client import BankClient
from .banking.bank_delays import BankDelayMeter, DelayPolicy
from .banking.bank_events import BankEvents
from .banking.bank_webhooks import BankWebhooks
from .banking.banks import BankConfig
from .banking.deposits import DepositService, sweep_stuck_deposits
from .banking.merchant_bank_accounts import BankAccountPolicy, MerchantBankAccounts
from .banking.payouts import PayoutPolicy, PayoutProcessor
from .banking.saved_accounts import SavedBankAccounts
from .banking.settlement_progress import SettlementProgress
from .banking.withdrawals import WithdrawalService
from .care.auto_resolve import AutoResolvePolicy, TicketExaminer
from .care.compensation import CompensationPolicy, Compensations
from .care.disputed import DisputedTickets
from .care.fraud import FraudReports, FraudReview
from .care.reversals import Reversals
from .care.story import Stories
from .care.ticket_actions import TicketActions
from .care.tickets import TicketPolicy, Tickets
from .core.codes import utcnow
from .core.idempotency import IdempotencyKeys
from .core.notifications import NotificationService
from .core.observe import NO_OBSERVER, Observer, observer_of
from .core.tasks import NoTaskQueue, TaskQueue, TransactionRunner
from .identity.accounts import AccountService
from .identity.api_tokens import ApiTokens
from .identity.devices import KnownDevices
from .identity.handles import Handles
from .identity.kyc import KycService, KycVerifier, load_verifier
from .identity.merchant_pins import MerchantPins
from .identity.pan_vault import PanVault
from .identity.passkeys import Passkeys
from .identity.phone_codes import OtpPolicy, PhoneCodes
from .identity.phone_flows import PasswordRecovery, PhoneSignup, PinRecovery
from .identity.pins import PinPolicy, Pins
from .identity.signed_in_devices import Devices
from .identity.sms import SmsGateway, load_sms_gateway
from .identity.web_sessions import SessionPolicy, WebSessions
from .merchants.counter import CounterFeed, CounterTokens
from .merchants.disputes import DisputePolicy, Disputes
from .merchants.events import MerchantEvents
from .merchants.keys import MerchantKeys
from .merchants.mandate_debits import MandateDebits
from .merchants.mandate_rules import MandatePolicy
from .merchants.mandates import Mandates
from .merchants.payment_links import PaymentLinks
from .merchants.payment_requests import PaymentRequests
from .merchants.refund_quotes import AppRefunds
from .merchants.refunds import RefundPolicy, Refunds
from .merchants.reports import MerchantReports
from .merchants.staff import INVITE_TTL_S, StaffPolicy, StaffService
from .merchants.stores import Stores
from .merchants.webhook_deliveries import WebhookWorker
from .merchants.webhooks import MerchantWebhooks, WebhookPolicy
from .money.activity import Activity
from .money.limits import LimitPolicy, WalletLimits
from .money.models import ScheduleRun
from .money.money_requests import MoneyRequests, RequestPolicy
from .money.receipts import Receipts
from .money.schedules import NOTICE_BATCH, PaymentSchedules, SchedulePolicy
from .money.shop_payments import ShopPayments
from .money.splits import Splits
from .money.statements import Statements
from .money.transfer_holds import TransferHolds, UndoPolicy
from .money.transfers import Transfers
from .operations.audit import Actor, AuditLog
from .operations.operator_actions import OperatorActions
from .operations.operators import OperatorService
from .operations.oversight import Oversight
from .settings import ConfigurationError, WalletSettings

log = logging.getLogger(__name__)


def payout_policy(s: WalletSettings) -> PayoutPolicy:
    return PayoutPolicy(lease_s=s.payout_lease_s, retry_budget=s.payout_retry_budget,
                        backoff_base_s=s.payout_backoff_base_s,
                        backoff_cap_s=s.payout_backoff_cap_s)


def webhook_policy(s: WalletSettings) -> WebhookPolicy:
    return WebhookPolicy(timeout_s=s.webhook_timeout_s,
                         max_response_bytes=s.webhook_max_response_bytes,
                         backoff_base_s=s.webhook_backoff_base_s,
                         backoff_cap_s=s.webhook_backoff_cap_s,
                         retry_window_s=s.webhook_retry_window_s,
                         disable_after_s=s.webhook_disable_after_s,
                         secret_grace_s=s.webhook_secret_grace_s,
                         resume_after_s=s.webhook_resume_after_s,
                         allow_private_urls=s.webhook_allow_private_urls,
                         require_https=s.production)


def delay_policy(s: WalletSettings) -> DelayPolicy:
    return DelayPolicy(window_s=s.bank_delay_window_s, samples=s.bank_delay_samples,
                       degraded_p90_s=s.bank_delay_degraded_p90_s,
                       degraded_failure_ratio=s.bank_delay_degraded_failure_ratio)


def counter_tokens(s: WalletSettings, clock: Callable[[], dt.datetime] = utcnow
                   ) -> CounterTokens:
    """The counter's stream tokens (the announcer checks them with no session)."""
    if s.counter_token_secret is None:
        raise ConfigurationError("setting wallet.counter_token_secret is required by the "
                                 "counter (the merchant app's page and the announcer)")
    return CounterTokens(secret=s.counter_token_secret, ttl_s=s.counter_token_ttl_s,
                         clock=clock)


@dataclass(frozen=True)
class Services:
    db: Session
    settings: WalletSettings
    tasks: TaskQueue = field(default_factory=NoTaskQueue)
    clock: Callable[[], dt.datetime] = utcnow

    @property
    def banks(self) -> dict[str, BankConfig]:
        return dict(self.settings.banks)

    @property
    def observer(self) -> Observer:
        """Who hears of what these services do: the session's (its factory's)."""
        return observer_of(self.db)

    @property
    def transfers(self) -> Transfers:
        return Transfers(self.db, clock=self.clock, ledger=self.ledger, pins=self.pins,
                         limits=self.limits, max_transfer_paise=self.settings.max_transfer_paise,
                         holds=self.transfer_holds)

    @property
    def shop_payments(self) -> ShopPayments:
        return ShopPayments(self.db, clock=self.clock, ledger=self.ledger, pins=self.pins,
                            max_transfer_paise=self.settings.max_transfer_paise)

    @property
    def activity(self) -> Activity:
        return Activity(self.db, ledger=self.ledger)

    @property
    def ledger(self) -> Ledger:
        return Ledger(self.db, clock=self.clock)

    @property
    def pin_policy(self) -> PinPolicy:
        s = self.settings
        return PinPolicy(max_tries=s.pin_max_tries, lock_s=s.pin_lock_s, keys=s.pin_keys)

    @property
    def limit_policy(self) -> LimitPolicy:
        s = self.settings
        return LimitPolicy(min_kyc_max_balance_paise=s.min_kyc_max_balance_paise,
                           min_kyc_monthly_bank_paise=s.min_kyc_monthly_bank_paise,
                           full_kyc_max_balance_paise=s.full_kyc_max_balance_paise)

    @property
    def webhook_policy(self) -> WebhookPolicy:
        return webhook_policy(self.settings)

    @property
    def delay_policy(self) -> DelayPolicy:
        return delay_policy(self.settings)

    @property
    def bank_account_policy(self) -> BankAccountPolicy:
        return BankAccountPolicy(cooling_off_s=self.settings.settlement_account_cooling_off_s)

    @property
    def pins(self) -> Pins:
        return Pins(self.db, policy=self.pin_policy, clock=self.clock)

    @property
    def merchant_pins(self) -> MerchantPins:
        """Shops' PINs: the wallet PIN's rules (one policy for both)."""
        return MerchantPins(self.db, policy=self.pin_policy, clock=self.clock)

    @property
    def merchant_bank_accounts(self) -> MerchantBankAccounts:
        return MerchantBankAccounts(self.db, self.banks, self.merchant_pins,
                                    policy=self.bank_account_policy, clock=self.clock)

    @property
    def limits(self) -> WalletLimits:
        return WalletLimits(self.db, policy=self.limit_policy, clock=self.clock)

    @property
    def pan_vault(self) -> PanVault:
        keys = self.settings.pan_keys
        if keys is None:
            raise ConfigurationError("KYC needs the PAN keys: set wallet.pan_keys, "
                                     "wallet.pan_key_id and wallet.pan_hmac_key")
        return PanVault(keys)

    @property
    def kyc(self) -> KycService:
        return KycService(self.db, load_verifier(self.settings.kyc_verifier, self.settings.raw),
                          self.pan_vault, clock=self.clock)

    def kyc_verified_by(self, verifier: KycVerifier) -> KycService:
        """KYC by another verifier than the configured one (the demo data's)."""
        return KycService(self.db, verifier, self.pan_vault, clock=self.clock)

    @property
    def accounts(self) -> AccountService:
        return AccountService(self.db, bcrypt_rounds=self.settings.bcrypt_rounds,
                              clock=self.clock)

    @property
    def deposits(self) -> DepositService:
        return DepositService(self.db, self.banks, clock=self.clock, ledger=self.ledger,
                              limits=self.limits)

    @property
    def withdrawals(self) -> WithdrawalService:
        return WithdrawalService(self.db, self.banks, clock=self.clock, tasks=self.tasks,
                                 ledger=self.ledger, pins=self.pins,
                                 bank_accounts=self.merchant_bank_accounts,
                                 settlement_progress=self.settlement_progress.payout_settled)

    @property
    def bank_events(self) -> BankEvents:
        return BankEvents(self.db, self.banks, clock=self.clock, deposits=self.deposits,
                          withdrawals=self.withdrawals)

    @property
    def bank_webhooks(self) -> BankWebhooks:
        return BankWebhooks(self.db, self.banks, clock=self.clock, events=self.bank_events)

    def bank_client(self, bank: BankConfig) -> BankClient:
        return BankClient(bank, timeout_s=self.settings.bank_timeout_s, observer=self.observer)

    def bank_delay_meter(self, now: dt.datetime | None = None) -> BankDelayMeter:
        return BankDelayMeter(self.db, self.banks, policy=self.delay_policy, now=now)

    @property
    def payment_requests(self) -> PaymentRequests:
        return PaymentRequests(self.db, shop_payments=self.shop_payments, stores=self.stores,
                               tasks=self.tasks, clock=self.clock)

    @property
    def payment_links(self) -> PaymentLinks:
        return PaymentLinks(self.db, payment_requests=self.payment_requests,
                            shop_payments=self.shop_payments, tasks=self.tasks,
                            clock=self.clock)

    # AutoPay mandates (wallet.merchants.mandates, mandate_debits).
    @property
    def mandate_policy(self) -> MandatePolicy:
        s = self.settings
        return MandatePolicy(notice_s=s.mandate_notice_s, pin_cap_paise=s.mandate_pin_cap_paise)

    @property
    def mandates(self) -> Mandates:
        return Mandates(self.db, policy=self.mandate_policy, shop_payments=self.shop_payments,
                        pins=self.pins, tasks=self.tasks, clock=self.clock)

    @property
    def mandate_debits(self) -> MandateDebits:
        return MandateDebits(self.db, policy=self.mandate_policy,
                             shop_payments=self.shop_payments, pins=self.pins,
                             tasks=self.tasks, clock=self.clock)

    @property
    def refunds(self) -> Refunds:
        return Refunds(self.db, tasks=self.tasks, clock=self.clock, ledger=self.ledger,
                       limits=self.limits)

    @property
    def merchant_reports(self) -> MerchantReports:
        return MerchantReports(self.db)

    @property
    def app_refunds(self) -> AppRefunds:
        """The merchant app's refunds: a confirm step, the shop PIN above a threshold."""
        return AppRefunds(refunds=self.refunds, pins=self.merchant_pins,
                          policy=RefundPolicy(
                              confirm_above_paise=self.settings.merchant_refund_confirm_above_paise))

    @property
    def statements(self) -> Statements:
        return Statements(self.db, clock=self.clock)

    @property
    def merchant_keys(self) -> MerchantKeys:
        return MerchantKeys(self.db, clock=self.clock)

    # A shop's stores (wallet.merchants.stores).
    @property
    def stores(self) -> Stores:
        return Stores(self.db, clock=self.clock)

    @property
    def merchant_webhooks(self) -> MerchantWebhooks:
        return MerchantWebhooks(self.db, self.webhook_policy,
                                tasks=self.tasks, clock=self.clock)

    @property
    def notifications(self) -> NotificationService:
        return NotificationService(self.db, clock=self.clock)

    @property
    def idempotency_keys(self) -> IdempotencyKeys:
        return IdempotencyKeys(self.db, clock=self.clock)

    def api_tokens(self, *, ttl_s: float, idle_s: float,
                   idempotency_key: str | None = None) -> ApiTokens:
        """The API's bearer tokens (their lifetimes are the API app's settings);
        ``idempotency_key``: a money request's, read with its token."""
        return ApiTokens(self.db, ttl_s=ttl_s, idle_s=idle_s, clock=self.clock,
                         idempotency_key=idempotency_key)

    def web_sessions(self, policy: SessionPolicy | None) -> WebSessions:
        """The page apps' sessions (their lifetimes are the web layer's settings)."""
        return WebSessions(self.db, policy=policy, clock=self.clock)

    @property
    def operators(self) -> OperatorService:
        return OperatorService(self.db, bcrypt_rounds=self.settings.bcrypt_rounds,
                               clock=self.clock)

    @property
    def oversight(self) -> Oversight:
        return Oversight(self.db, clock=self.clock,
                         deposit_stuck_after_s=self.settings.deposit_stuck_after_s)

    @property
    def audit_log(self) -> AuditLog:
        return AuditLog(self.db, clock=self.clock)

    # --- Users' money requests and split bills (wallet.money.money_requests, splits).

    @property
    def request_policy(self) -> RequestPolicy:
        return RequestPolicy(max_per_day=self.settings.money_requests_per_day)

    @property
    def money_requests(self) -> MoneyRequests:
        return MoneyRequests(self.db, transfers=self.transfers, policy=self.request_policy,
                             clock=self.clock)

    @property
    def splits(self) -> Splits:
        return Splits(self.db, requests=self.money_requests, clock=self.clock)

    @property
    def schedule_policy(self) -> SchedulePolicy:
        s = self.settings
        return SchedulePolicy(notice_hours=s.schedule_notice_hours,
                              run_cap_paise=s.schedule_run_cap_paise,
                              retry=s.schedule_retry, retry_delay_s=s.schedule_retry_delay_s)

    @property
    def payment_schedules(self) -> PaymentSchedules:
        return PaymentSchedules(self.db, clock=self.clock, policy=self.schedule_policy,
                                pins=self.pins, transfers=self.transfers,
                                shop_payments=self.shop_payments)

    def operator_actions(self, actor: Actor) -> OperatorActions:
        return OperatorActions(self.db, self.banks, actor, tasks=self.tasks, clock=self.clock,
                               deposit_expire_after_s=self.settings.deposit_expire_after_s,
                               deposits=self.deposits, withdrawals=self.withdrawals,
                               disputes=self.disputes)

    # --- Disputes of shop payments (wallet.merchants.disputes).

    @property
    def dispute_policy(self) -> DisputePolicy:
        return DisputePolicy(respond_s=self.settings.dispute_respond_s)

    @property
    def disputes(self) -> Disputes:
        # (Its follower is built when a dispute steps: the tickets take the disputes.)
        return Disputes(self.db, policy=self.dispute_policy, ledger=self.ledger,
                        follower=lambda dispute: DisputedTickets(
                            tickets=self.tickets).follow(dispute),
                        tasks=self.tasks, clock=self.clock)

    @property
    def ticket_policy(self) -> TicketPolicy:
        return TicketPolicy(due_hours=self.settings.ticket_due_hours)

    @property
    def tickets(self) -> Tickets:
        return Tickets(self.db, policy=self.ticket_policy, tasks=self.tasks,
                       disputes=self.disputes, clock=self.clock)

    @property
    def reversals(self) -> Reversals:
        return Reversals(self.db, ledger=self.ledger, clock=self.clock)

    # Compensation for late reversals (wallet.care.compensation).
    @property
    def compensation_policy(self) -> CompensationPolicy:
        s = self.settings
        return CompensationPolicy(p2p_days=s.reversal_deadline_days_p2p,
                                  shop_days=s.reversal_deadline_days_shop,
                                  paise_per_day=s.compensation_paise_per_day)

    @property
    def compensations(self) -> Compensations:
        return Compensations(self.db, policy=self.compensation_policy, ledger=self.ledger,
                             tickets=self.tickets, clock=self.clock)

    @property
    def ticket_stories(self) -> Stories:
        return Stories(self.db, clock=self.clock)

    def ticket_actions(self, actor: Actor, operator_id: int | None) -> TicketActions:
        return TicketActions(self.db, actor, operator_id, tickets=self.tickets,
                             reversals=self.reversals, refunds=self.refunds, clock=self.clock)

    @property
    def fraud_reports(self) -> FraudReports:
        return FraudReports(self.db, tickets=self.tickets, ledger=self.ledger, clock=self.clock)

    def fraud_review(self, actor: Actor) -> FraudReview:
        return FraudReview(reports=self.fraud_reports, actions=self.operator_actions(actor))

    @property
    def undo_policy(self) -> UndoPolicy:
        s = self.settings
        return UndoPolicy(above_paise=s.undo_above_paise, window_s=s.undo_window_s)

    # --- Shops' automatic settlement (wallet.banking.auto_settlement).

    @property
    def settlement_policy(self) -> SettlementPolicy:
        return SettlementPolicy(
            confirm_above_paise=self.settings.merchant_settle_confirm_above_paise)

    @property
    def merchant_events(self) -> MerchantEvents:
        return MerchantEvents(self.db, tasks=self.tasks, clock=self.clock)

    @property
    def settlement_progress(self) -> SettlementProgress:
        return SettlementProgress(self.db, self.banks, announce=self.merchant_events.emit,
                                  clock=self.clock)

    @property
    def auto_settlements(self) -> AutoSettlements:
        return AutoSettlements(self.db, self.banks, policy=self.settlement_policy,
                               ledger=self.ledger, withdrawals=self.withdrawals,
                               bank_accounts=self.merchant_bank_accounts,
                               pins=self.merchant_pins, clock=self.clock)

    @property
    def transfer_holds(self) -> TransferHolds:
        """First payments held for their undo window (wallet.money.transfer_holds)."""
        return TransferHolds(self.db, clock=self.clock, ledger=self.ledger,
                             policy=self.undo_policy)

    @property
    def receipts(self) -> Receipts:
        """Signed payment receipts (wallet.money.receipts)."""
        return Receipts(self.db, keys=self.settings.receipt_keys, clock=self.clock)

    @property
    def staff_policy(self) -> StaffPolicy:
        # No e-mail is sent: outside production the link is kept in the shop's notices too.
        return StaffPolicy(invite_ttl_s=INVITE_TTL_S,
                           links_in_notices=not self.settings.production)

    @property
    def staff(self) -> StaffService:
        """The people of a shop, their roles and what they did (wallet.merchants.staff)."""
        return StaffService(self.db, accounts=self.accounts, policy=self.staff_policy,
                            clock=self.clock)

    @property
    def counter_feed(self) -> CounterFeed:
        """The counter's outbox, read (wallet.merchants.counter)."""
        return CounterFeed(self.db, clock=self.clock)

    @property
    def counter_tokens(self) -> CounterTokens:
        """The counter's stream tokens; refused when no secret is configured."""
        return counter_tokens(self.settings, self.clock)

    # Passkeys (wallet.identity.passkeys): their relying party is a setting.
    @property
    def passkeys(self) -> Passkeys:
        policy = self.settings.passkeys
        if policy is None:
            raise ConfigurationError("passkeys need wallet.webauthn_rp_id and "
                                     "wallet.webauthn_origin")
        return Passkeys(self.db, policy=policy, accounts=self.accounts, pins=self.pins,
                        clock=self.clock)

    @property
    def handles(self) -> Handles:
        """People's receive handles (wallet.identity.handles)."""
        return Handles(self.db)

    # Phones proved by a one-time code by SMS (wallet.identity.phone_codes, phone_flows,
    # devices).
    @property
    def otp_policy(self) -> OtpPolicy:
        s = self.settings
        return OtpPolicy(code_ttl_s=s.otp_code_ttl_s, max_tries=s.otp_max_tries,
                         sends_per_hour=s.otp_sends_per_hour,
                         resend_after_s=s.otp_resend_after_s, secret=s.otp_secret)

    @property
    def sms_gateway(self) -> SmsGateway:
        return load_sms_gateway(self.settings.sms_gateway, self.settings.raw,
                                self.db.get_bind())

    @property
    def phone_codes(self) -> PhoneCodes:
        return PhoneCodes(self.db, policy=self.otp_policy, gateway=self.sms_gateway,
                          clock=self.clock)

    @property
    def phone_signup(self) -> PhoneSignup:
        return PhoneSignup(self.db, codes=self.phone_codes, accounts=self.accounts)

    @property
    def password_recovery(self) -> PasswordRecovery:
        return PasswordRecovery(self.db, codes=self.phone_codes, accounts=self.accounts,
                                clock=self.clock)

    @property
    def pin_recovery(self) -> PinRecovery:
        return PinRecovery(self.db, codes=self.phone_codes, pins=self.pins)

    @property
    def known_devices(self) -> KnownDevices:
        return KnownDevices(self.db, gateway=self.sms_gateway, clock=self.clock)

    # A user's saved bank accounts (wallet.banking.saved_accounts): the shops'
    # policy's most accounts, the banks asked whose account it is.
    @property
    def saved_bank_accounts(self) -> SavedBankAccounts:
        return SavedBankAccounts(self.db, self.banks, self.pins,
                                 policy=self.bank_account_policy,
                                 client_for=self.bank_client, clock=self.clock)

    def devices(self, session_policy: SessionPolicy, *,
                token_idle_s: float | None) -> Devices:
        """A user's devices (wallet.identity.devices): browsers by the page
        app's session policy, tokens by the API's idle timeout (None: not known)."""
        return Devices(self.db, session_policy=session_policy, token_idle_s=token_idle_s,
                       clock=self.clock)


@dataclass(frozen=True)
class Background:
    """What runs transactions of its own (the workers' payouts, webhooks and
    sweeps): each transaction gets the :class:`Services` on its session."""

    run_in_transaction: TransactionRunner
    settings: WalletSettings
    tasks: TaskQueue = field(default_factory=NoTaskQueue)
    clock: Callable[[], dt.datetime] = utcnow
    #: Who hears of the bank calls (the transactions' sessions report to their factory's).
    observer: Observer = NO_OBSERVER

    def services(self, db: Session) -> Services:
        return Services(db, self.settings, self.tasks, clock=self.clock)

    def _withdrawals(self, db: Session) -> WithdrawalService:
        return self.services(db).withdrawals

    def _deposits(self, db: Session) -> DepositService:
        return self.services(db).deposits

    def bank_client(self, bank: BankConfig) -> BankClient:
        return BankClient(bank, timeout_s=self.settings.bank_timeout_s, observer=self.observer)

    def payout_processor(self, rng: random.Random | None = None) -> PayoutProcessor:
        return PayoutProcessor(self.run_in_transaction, dict(self.settings.banks),
                               self.bank_client, policy=payout_policy(self.settings),
                               withdrawals_for=self._withdrawals, clock=self.clock, rng=rng)

    def webhook_worker(self) -> WebhookWorker:
        policy = webhook_policy(self.settings)
        return WebhookWorker(self.run_in_transaction, policy, policy.sender(), clock=self.clock)

    def execute_due_mandate_debits(self) -> list[int]:
        """Execute the AutoPay debits whose notice has run out, each in a
        transaction of its own (one claimed by another worker is skipped);
        the ids of those executed (paid, failed, cancelled or now awaiting the PIN)."""
        due = self.run_in_transaction(lambda db: self.services(db).mandate_debits.due())
        executed = []
        for debit_id in due:
            try:
                if self.run_in_transaction(self._debit_executor(debit_id)):
                    executed.append(debit_id)
            except Exception:  # one debit's fault must not hold up every debit after it
                log.exception("AutoPay debit %s not executed; tried again next sweep", debit_id)
        return executed

    def _debit_executor(self, debit_id: int) -> Callable[[Session], bool]:
        def execute(db: Session) -> bool:
            return self.services(db).mandate_debits.execute(debit_id) is not None
        return execute

    def sweep_stuck_deposits(self) -> dict[str, int]:
        """Ask the banks about deposits pending too long (the sweeper)."""
        s = self.settings
        return sweep_stuck_deposits(
            self.run_in_transaction, dict(s.banks), self.bank_client,
            deposits_for=self._deposits,
            older_than=dt.timedelta(seconds=s.deposit_stuck_after_s),
            expire_after=dt.timedelta(seconds=s.deposit_expire_after_s))

    def _schedule_runner(self, passed_over: set[int], claimed: list[int]
                         ) -> Callable[[Session], ScheduleRun | None]:
        def run(db: Session) -> ScheduleRun | None:
            return self.services(db).payment_schedules.run_due_one(
                passed_over=passed_over, claimed=claimed)
        return run

    def sweep_schedules(self, max_runs: int = 500) -> tuple[int, int]:
        """Scheduled payments (wallet.money.schedules): send the notices due,
        then pay the due runs, each in a transaction of its own (a second
        worker claims others: SKIP LOCKED). Returns (notices, runs)."""
        notices = 0
        while True:
            sent = self.run_in_transaction(
                lambda db: self.services(db).payment_schedules.send_notices())
            notices += sent
            if sent < NOTICE_BATCH:
                break
        runs, passed_over = 0, set[int]()
        while runs < max_runs:
            claimed: list[int] = []
            try:
                run = self.run_in_transaction(self._schedule_runner(passed_over, claimed))
            except Exception:
                if not claimed:
                    raise
                # One schedule's fault must not hold up every run due after it.
                log.exception("scheduled payment %s not run; tried again next sweep",
                              claimed[-1])
                passed_over.add(claimed[-1])
                continue
            if run is None:
                break
            runs += 1
        return notices, runs

    def ticket_examiner(self) -> TicketExaminer:
        """The automatic checks of new tickets (wallet.care.auto_resolve)."""
        s = self.settings
        return TicketExaminer(
            self.run_in_transaction, dict(s.banks), self.bank_client,
            policy=AutoResolvePolicy(twin_window_s=s.ticket_twin_window_s,
                                     sweep_after_s=s.ticket_examine_after_s),
            deposit_expire_after_s=s.deposit_expire_after_s, services_for=self.services,
            clock=self.clock)

    def pay_compensation(self, limit: int = 1000) -> tuple[int, int]:
        """Compensation for late reversals (wallet.care.compensation): each
        ticket with days earned and unpaid paid in a transaction of its own
        (one another worker holds is skipped: SKIP LOCKED). Returns (tickets
        paid, days paid)."""
        due = self.run_in_transaction(lambda db: self.services(db).compensations.due(limit))
        tickets = days = 0
        for ticket_id in due:
            try:
                made = self.run_in_transaction(self._compensation_payer(ticket_id))
            except Exception:  # one ticket's fault must not hold up the others
                log.exception("compensation of ticket %s not paid; tried again next sweep",
                              ticket_id)
                continue
            tickets, days = tickets + bool(made), days + made
        return tickets, days

    def _compensation_payer(self, ticket_id: int) -> Callable[[Session], int]:
        def pay(db: Session) -> int:
            return len(self.services(db).compensations.pay_due(ticket_id) or ())
        return pay

    def expire_due_disputes(self, max_disputes: int = 500) -> list[str]:
        """Decide for the customer the disputes the shop did not answer in
        time, each in a transaction of its own (one another worker holds is
        skipped: SKIP LOCKED); their public ids."""
        decided: list[str] = []
        while len(decided) < max_disputes:
            dispute = self.run_in_transaction(
                lambda db: self.services(db).disputes.expire_due_one())
            if dispute is None:
                break
            decided.append(dispute.public_id)
        return decided

    def land_due_transfers(self, max_landed: int = 1000) -> list[int]:
        """Land the held transfers whose undo window is over, each in a
        transaction of its own (one an undo or another worker holds is
        skipped: SKIP LOCKED); the ids of those landed."""
        landed: list[int] = []
        passed_over: set[int] = set()
        while len(landed) < max_landed:
            due = [tx_id for tx_id in self.run_in_transaction(
                lambda db: self.services(db).transfer_holds.due()) if tx_id not in passed_over]
            if not due:
                break
            for tx_id in due:
                try:
                    if self.run_in_transaction(self._lander(tx_id)):
                        landed.append(tx_id)
                    else:
                        passed_over.add(tx_id)
                except Exception:  # one transfer's fault must not hold up the others
                    log.exception("held transfer %s not landed; tried again next sweep", tx_id)
                    passed_over.add(tx_id)
        return landed

    def _lander(self, transaction_id: int) -> Callable[[Session], bool]:
        def land(db: Session) -> bool:
            return self.services(db).transfer_holds.land(transaction_id) is not None
        return land

    def _settlement_runner(self, passed_over: set[int], claimed: list[int]
                           ) -> Callable[[Session], SweepStep | None]:
        def run(db: Session) -> SweepStep | None:
            return self.services(db).auto_settlements.run_due_one(passed_over=passed_over,
                                                                  claimed=claimed)
        return run

    def sweep_settlements(self, max_windows: int = 500) -> list[SweepStep]:
        """Shops' automatic settlements due (wallet.banking.auto_settlement):
        each shop's window in a transaction of its own (a second worker claims
        others: SKIP LOCKED; a window's key settles it once). What was done."""
        done: list[SweepStep] = []
        passed_over: set[int] = set()
        while len(done) < max_windows:
            claimed: list[int] = []
            try:
                step = self.run_in_transaction(self._settlement_runner(passed_over, claimed))
            except Exception:
                if not claimed:
                    raise
                # One shop's fault must not hold up every settlement due after it.
                log.exception("automatic settlement of schedule %s failed; tried again "
                              "next sweep", claimed[-1])
                passed_over.add(claimed[-1])
                continue
            if step is None:
                break
            done.append(step)
        return done
