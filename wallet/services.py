"""The domain's services for one unit of work (a request, a task step, a CLI
command), configured once from the typed settings: adapters ask this object
for a service instead of each reading settings of their own."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from .banking.bank_events import BankEvents
from .banking.banks import BankConfig
from .banking.deposits import DepositService
from .banking.merchant_bank_accounts import BankAccountPolicy, MerchantBankAccounts
from .banking.withdrawals import WithdrawalService
from .core.codes import utcnow
from .core.notifications import NotificationService
from .core.tasks import NoTaskQueue, TaskQueue
from .identity.accounts import AccountService
from .identity.kyc import KycService, load_verifier
from .identity.merchant_pins import MerchantPins
from .identity.pan_vault import PanVault
from .identity.pins import PinPolicy, Pins
from .merchants.keys import MerchantKeys
from .merchants.payment_requests import PaymentRequests
from .merchants.refunds import Refunds
from .merchants.reports import MerchantReports
from .merchants.webhooks import MerchantWebhooks, WebhookPolicy
from .money.limits import LimitPolicy, WalletLimits
from .money.statements import Statements
from .money.transfers import WalletService
from .settings import ConfigurationError, WalletSettings


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
    def wallet(self) -> WalletService:
        return WalletService(self.db, clock=self.clock,
                             max_transfer_paise=self.settings.max_transfer_paise,
                             pin_policy=self.pin_policy, limit_policy=self.limit_policy)

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
    def pins(self) -> Pins:
        return Pins(self.db, self.pin_policy, clock=self.clock)

    @property
    def merchant_pins(self) -> MerchantPins:
        """Shops' PINs: the wallet PIN's rules (one policy for both)."""
        return MerchantPins(self.db, self.pin_policy, clock=self.clock)

    @property
    def merchant_bank_accounts(self) -> MerchantBankAccounts:
        return MerchantBankAccounts(
            self.db, self.banks, self.merchant_pins,
            BankAccountPolicy(cooling_off_s=self.settings.settlement_account_cooling_off_s),
            clock=self.clock)

    @property
    def limits(self) -> WalletLimits:
        return WalletLimits(self.db, self.limit_policy, clock=self.clock)

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

    @property
    def accounts(self) -> AccountService:
        return AccountService(self.db, bcrypt_rounds=self.settings.bcrypt_rounds,
                              clock=self.clock)

    @property
    def deposits(self) -> DepositService:
        return DepositService(self.db, self.banks, clock=self.clock, wallet=self.wallet)

    @property
    def withdrawals(self) -> WithdrawalService:
        return WithdrawalService(self.db, self.banks, clock=self.clock, tasks=self.tasks,
                                 wallet=self.wallet, bank_accounts=self.merchant_bank_accounts)

    @property
    def bank_events(self) -> BankEvents:
        return BankEvents(self.db, self.banks, clock=self.clock)

    @property
    def payment_requests(self) -> PaymentRequests:
        return PaymentRequests(self.db, wallet=self.wallet, tasks=self.tasks, clock=self.clock)

    @property
    def refunds(self) -> Refunds:
        return Refunds(self.db, tasks=self.tasks, clock=self.clock,
                       limit_policy=self.limit_policy)

    @property
    def merchant_reports(self) -> MerchantReports:
        return MerchantReports(self.db)

    @property
    def statements(self) -> Statements:
        return Statements(self.db, clock=self.clock)

    @property
    def merchant_keys(self) -> MerchantKeys:
        return MerchantKeys(self.db, clock=self.clock)

    @property
    def merchant_webhooks(self) -> MerchantWebhooks:
        return MerchantWebhooks(self.db, WebhookPolicy.from_settings(self.settings),
                                tasks=self.tasks, clock=self.clock)

    @property
    def notifications(self) -> NotificationService:
        return NotificationService(self.db, clock=self.clock)
