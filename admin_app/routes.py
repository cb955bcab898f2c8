from pyramid.config import Configurator

from webcommon.routes import add_account_routes

ID = "{id:\\d{1,18}}"
#: A ticket's "tk_…" id (anything else of this shape: 404).
TICKET = "{public_id:[A-Za-z0-9_-]{1,40}}"
TICKET_ACTIONS = ("take", "reverse", "refund", "reject", "resolve", "escalate")


def includeme(config: Configurator) -> None:
    add_account_routes(config, "admin_app:static", self_service=False)
    config.add_route("overview", "/")
    config.add_route("payouts", "/payouts")
    config.add_route("payout", f"/payouts/{ID}")
    config.add_route("payout_retry", f"/payouts/{ID}/retry")
    config.add_route("payout_resolve", f"/payouts/{ID}/resolve")
    config.add_route("deposits", "/deposits")
    config.add_route("deposit_ask", f"/deposits/{ID}/ask-bank")
    config.add_route("reconciliation", "/reconciliation")
    config.add_route("reconciliation_run", f"/reconciliation/{ID}")
    config.add_route("reconciliation_csv", f"/reconciliation/{ID}.csv")
    config.add_route("lookup", "/lookup")
    config.add_route("freeze", f"/users/{ID}/freeze")
    config.add_route("unfreeze", f"/users/{ID}/unfreeze")
    config.add_route("sign_out_user", f"/users/{ID}/sign-out")
    config.add_route("sign_out_shop", f"/shops/{ID}/sign-out")
    config.add_route("audit", "/audit")
    config.add_route("audit_csv", "/audit.csv")
    config.add_route("tickets", "/tickets")
    config.add_route("ticket", f"/tickets/{TICKET}")
    for action in TICKET_ACTIONS:
        config.add_route(f"ticket_{action}", f"/tickets/{TICKET}/{action}")
    # Fraud reports (admin_app/views/fraud.py): the ticket's id.
    config.add_route("fraud_holds", "/fraud-holds")
    config.add_route("fraud_return", f"/fraud-holds/{ID}/return")
    config.add_route("fraud_release", f"/fraud-holds/{ID}/release")
    # Disputes of shop payments: the contested ones, decided here.
    config.add_route("disputes", "/disputes")
    config.add_route("dispute_decide", f"/disputes/{ID}/decide")
