from pyramid.config import Configurator

from webcommon.routes import add_account_routes

ID = "{id:\\d{1,18}}"


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
    # Disputes of shop payments: the contested ones, decided here.
    config.add_route("disputes", "/disputes")
    config.add_route("dispute_decide", f"/disputes/{ID}/decide")
