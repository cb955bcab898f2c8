"""Every route of the API app: the paths of its OpenAPI document, the
document itself and its browsable docs."""
from __future__ import annotations

import openapi_ui_bundles
from pyramid.config import Configurator

#: Swagger UI 5's files (it renders OpenAPI 3.1; Swagger UI 4 cannot), from a
#: package (no CDN at run time).
SWAGGER_UI_ASSETS = str(openapi_ui_bundles.swagger_ui.static_path)

# route name -> path, exactly as api_app/openapi.yaml writes it.
API_ROUTES = {
    "tokens": "/v1/tokens",
    "token": "/v1/tokens/{token_id}",
    "me": "/v1/me",
    "pin": "/v1/pin",
    "banks": "/v1/banks",
    "deposits": "/v1/deposits",
    "deposit": "/v1/deposits/{reference}",
    "transfers": "/v1/transfers",
    "transfer_undo": "/v1/transfers/{transaction_id}/undo",
    "payments": "/v1/payments",
    "withdrawals": "/v1/withdrawals",
    "withdrawal": "/v1/withdrawals/{withdrawal_id}",
    "transactions": "/v1/transactions",
    "transaction": "/v1/transactions/{transaction_id}",
    "statement": "/v1/statements/{month}",
    # Shops' servers (merchant keys).
    "payment_requests": "/v1/payment_requests",
    "payment_request": "/v1/payment_requests/{payment_request_id}",
    "payment_request_cancel": "/v1/payment_requests/{payment_request_id}/cancel",
    "payment_request_refunds": "/v1/payment_requests/{payment_request_id}/refunds",
    # Users' money requests and split bills (a user's token).
    "money_requests": "/v1/money_requests",
    "money_request": "/v1/money_requests/{money_request_id}",
    "money_request_pay": "/v1/money_requests/{money_request_id}/pay",
    "money_request_decline": "/v1/money_requests/{money_request_id}/decline",
    "money_request_cancel": "/v1/money_requests/{money_request_id}/cancel",
    "splits": "/v1/splits",
    "split": "/v1/splits/{split_id}",
    "split_remind": "/v1/splits/{split_id}/remind",
    "split_close": "/v1/splits/{split_id}/close",
    "split_share": "/v1/splits/{split_id}/shares/{money_request_id}",
    # AutoPay mandates (shops' servers).
    "mandates": "/v1/mandates",
    "mandate": "/v1/mandates/{mandate_id}",
    "mandate_debits": "/v1/mandates/{mandate_id}/debits",
    # Scheduled and recurring payments (users' tokens).
    "schedules": "/v1/schedules",
    "schedule": "/v1/schedules/{schedule_id}",
    "schedule_pause": "/v1/schedules/{schedule_id}/pause",
    "schedule_resume": "/v1/schedules/{schedule_id}/resume",
    "schedule_cancel": "/v1/schedules/{schedule_id}/cancel",
    "schedule_run_skip": "/v1/schedules/{schedule_id}/runs/{run_number}/skip",
    "schedule_run_pay": "/v1/schedules/{schedule_id}/runs/{run_number}/pay",
    # AutoPay mandates, the customer's side (users' tokens).
    "autopay": "/v1/autopay",
    "autopay_mandate": "/v1/autopay/{mandate_id}",
    "autopay_approve": "/v1/autopay/{mandate_id}/approve",
    "autopay_pause": "/v1/autopay/{mandate_id}/pause",
    "autopay_resume": "/v1/autopay/{mandate_id}/resume",
    "autopay_revoke": "/v1/autopay/{mandate_id}/revoke",
    "autopay_debit_pay": "/v1/autopay/debits/{debit_id}/pay",
    "autopay_debit_decline": "/v1/autopay/debits/{debit_id}/decline",
    # Fraud reported on a transfer (wallet.care.fraud; users' tokens).
    "transaction_report_fraud": "/v1/transactions/{transaction_id}/report_fraud",
    "fraud_report": "/v1/fraud_reports/{fraud_report_id}",
    "fraud_report_responses": "/v1/fraud_reports/{fraud_report_id}/responses",
    # Disputes of shop payments (shops' servers).
    "disputes": "/v1/disputes",
    "dispute": "/v1/disputes/{dispute_id}",
    "dispute_accept": "/v1/disputes/{dispute_id}/accept",
    "dispute_contest": "/v1/disputes/{dispute_id}/contest",
    # Users' tickets: a problem reported about a transaction (users' tokens).
    "tickets": "/v1/tickets",
    "ticket": "/v1/tickets/{ticket_id}",
    # A shop's stores (shops' servers).
    "stores": "/v1/stores",
    # Payment links (shops' servers).
    "payment_links": "/v1/payment_links",
    "payment_link": "/v1/payment_links/{payment_link_id}",
    "payment_link_cancel": "/v1/payment_links/{payment_link_id}/cancel",
    # Shops' settlements and their reports (shops' servers).
    "settlements": "/v1/settlements",
    "settlement": "/v1/settlements/{settlement_id}",
    "settlement_report": "/v1/settlements/{settlement_id}/report.csv",
    # One-time codes by SMS: sign up, reset a forgotten password (no token).
    "otp": "/v1/otp",
    "otp_resend": "/v1/otp/resend",
    "otp_verify": "/v1/otp/verify",
    # A user's saved bank accounts, devices, KYC and PIN reset (users' tokens).
    "bank_accounts": "/v1/bank_accounts",
    "bank_account_lookup": "/v1/bank_accounts/lookup",
    "bank_account_remove": "/v1/bank_accounts/{bank_account_id}/remove",
    "bank_account_withdrawals": "/v1/bank_accounts/{bank_account_id}/withdrawals",
    "devices": "/v1/devices",
    "device": "/v1/devices/{device_id}",
    "kyc": "/v1/kyc",
    "pin_reset": "/v1/pin/reset",
}


def includeme(config: Configurator) -> None:
    for name, path in API_ROUTES.items():
        config.add_route(name, path)
    config.add_route("openapi_json", "/v1/openapi.json")
    config.add_route("docs", "/docs")
    config.add_static_view("docs/assets", SWAGGER_UI_ASSETS)
    config.add_static_view("docs/static", "api_app:static")
