"""The wallet's domain: the one home of its rules.

Transfers and shop payments (``transfers``), sign-up and log-in
(``accounts``), deposits, withdrawals and payouts, each bank's protocol
(``bank_protocols``), what a bank's event means (``bank_events``), reports
and operators' checks, over the double-entry ledger of ``ledgerlib``. It
imports no web framework, queue or app: the apps, the webhook app, the
workers and the CLIs call it (see docs/architecture.md).
Work for after a commit goes through ``wallet.core.tasks.TaskQueue``.
"""
