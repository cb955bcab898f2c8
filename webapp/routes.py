from pyramid.config import Configurator

from webapp.sms_outbox import include_sms_outbox_page
from webcommon.receipt_keys import include_receipt_keys
from webcommon.routes import add_account_routes


def includeme(config: Configurator) -> None:
    add_account_routes(config, "webapp:static", self_service=True)
    config.add_route("send", "/send")
    config.add_route("add_money", "/add-money")
    config.add_route("deposit", "/deposits/{token:[A-Za-z0-9_-]{16,64}}")
    config.add_route("deposit_cancel", "/deposits/{token:[A-Za-z0-9_-]{16,64}}/cancel")
    config.add_route("notifications", "/notifications")
    config.add_route("notifications_read", "/notifications/read")
    config.add_route("pay", "/pay")
    config.add_route("pay_merchant", "/pay/{handle}")
    config.add_route("withdraw", "/withdraw")
    config.add_route("withdrawal", "/withdrawals/{id:\\d{1,18}}")
    config.add_route("transactions", "/transactions")
    config.add_route("transaction", "/transactions/{id:\\d{1,18}}")
    # Report fraud (webapp/views/fraud.py): the sender's confirm page, the recipient's page.
    config.add_route("report_fraud", "/transactions/{id:\\d{1,18}}/report-fraud")
    config.add_route("fraud_report", "/fraud-reports/{id:[A-Za-z0-9_-]{1,40}}")
    config.add_route("transaction_undo", "/transactions/{id:\\d{1,18}}/undo")
    config.add_route("statement", "/statement")
    config.add_route("checkout", "/checkout/{id}")
    config.add_route("pin", "/pin")
    config.add_route("pin_reset", "/pin/reset")
    config.add_route("kyc", "/kyc")
    # Users' money requests and split bills (webapp.views.requests, splits).
    config.add_route("requests", "/requests")
    config.add_route("request_new", "/requests/new")
    config.add_route("requests_unblock", "/requests/unblock")
    config.add_route("money_request", "/requests/{id}")
    config.add_route("money_request_pay", "/requests/{id}/pay")
    config.add_route("money_request_decline", "/requests/{id}/decline")
    config.add_route("money_request_cancel", "/requests/{id}/cancel")
    config.add_route("split_new", "/splits/new")
    config.add_route("split", "/splits/{id}")
    config.add_route("split_remind", "/splits/{id}/remind")
    config.add_route("split_close", "/splits/{id}/close")
    config.add_route("split_share", "/splits/{id}/shares/{request_id}")
    # AutoPay mandates (webapp/views/mandates.py).
    config.add_route("mandate", "/mandates/{id}")
    config.add_route("autopay", "/autopay")
    config.add_route("autopay_change", "/autopay/{id}/{action}")  # pause, resume, revoke
    config.add_route("autopay_debit", "/autopay/debits/{id}/{action}")  # approve, decline
    # Scheduled and recurring payments.
    schedule = "/schedules/{id:[A-Za-z0-9_-]{1,40}}"  # (/schedules/new is matched first)
    config.add_route("schedules", "/schedules")
    config.add_route("schedule_new", "/schedules/new")
    config.add_route("schedule", schedule)
    config.add_route("schedule_skip", schedule + "/skip")
    config.add_route("schedule_pause", schedule + "/pause")
    config.add_route("schedule_resume", schedule + "/resume")
    config.add_route("schedule_cancel", schedule + "/cancel")
    config.add_route("schedule_run_pay", schedule + "/runs/{number:\\d{1,6}}/pay")
    # Users' tickets: a problem reported about a transaction (webapp/views/tickets.py).
    config.add_route("tickets", "/tickets")
    config.add_route("ticket", "/tickets/{id:tk_[A-Za-z0-9_-]{1,37}}")
    config.add_route("ticket_report", "/transactions/{id:\\d{1,18}}/report")
    # Signed payment receipts: anyone checks one (webapp/views/receipts.py); the keys.
    config.add_route("receipts_verify", "/receipts/verify")
    include_receipt_keys(config)
    # A shop's payment links, the customer's side (webapp/views/links.py).
    config.add_route("payment_link", "/l/{id}")
    # Test mode (webapp/views/test_mode.py): test objects' pages, no sign-in.
    config.add_route("test_checkout", "/test/checkout/{id}")
    config.add_route("test_mandate", "/test/mandates/{id}")
    # The installable app (webapp/views/app_shell.py): manifest, service worker
    # (at the root: its scope is the whole app) and the offline pages it shows.
    config.add_route("manifest", "/manifest.webmanifest")
    config.add_route("service_worker", "/sw.js")
    config.add_route("offline", "/offline")
    config.add_route("offline_form", "/offline/form")
    # Passkeys (webapp/views/passkeys.py): the user's list, and signing in with one.
    config.add_route("passkeys", "/me/passkeys")
    config.add_route("passkeys_options", "/me/passkeys/options")
    config.add_route("passkey_rename", "/me/passkeys/{id:\\d{1,18}}/rename")
    config.add_route("passkey_remove", "/me/passkeys/{id:\\d{1,18}}/remove")
    config.add_route("login_passkey_options", "/login/passkey/options")
    config.add_route("login_passkey", "/login/passkey")
    # Receive handles and scan-and-pay (webapp/views/handles.py, scan.py).
    config.add_route("my_qr", "/me/qr")
    config.add_route("to_handle", "/to/{handle}")
    config.add_route("scan", "/scan")
    config.add_route("scan_decode", "/scan/decode")
    # Phones proved by a code by SMS (webapp/views/phone.py): sign-up's second
    # step, a forgotten password, a forgotten PIN; the development outbox page.
    config.add_route("signup_verify", "/signup/verify")
    config.add_route("signup_resend", "/signup/resend")
    config.add_route("password_forgot", "/password/forgot")
    config.add_route("password_reset", "/password/reset")
    config.add_route("password_resend", "/password/resend")
    config.add_route("pin_reset_code", "/pin/reset/code")
    config.add_route("pin_reset_send", "/pin/reset/code/send")
    include_sms_outbox_page(config)
    # The phone's "Me" tab (webapp/views/me.py): the person, their settings, sign-out.
    config.add_route("me", "/me")
    # A user's saved bank accounts and devices (webapp/views/saved_accounts.py, devices.py).
    config.add_route("saved_accounts", "/me/bank-accounts")
    config.add_route("saved_account_remove", "/me/bank-accounts/{id:\\d{1,18}}/remove")
    config.add_route("devices", "/me/devices")
    config.add_route("device_sign_out", "/me/devices/{id}/sign-out")
    config.add_route("devices_sign_out_others", "/me/devices/sign-out-others")
