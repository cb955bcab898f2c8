"""The merchant app's webhook pages: endpoints, secrets, the delivery log with
its attempts and resend, and the dashboard's notice of a disabled endpoint."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from wallet.core.codes import Delivery, Event
from wallet.merchants.models import MerchantDelivery, MerchantEndpoint
from wallet.merchants.webhook_deliveries import WebhookDeliveries
from wallet.merchants.webhook_sender import SendResult
from wallet.merchants.webhooks import MerchantWebhooks, WebhookPolicy, disable_endpoint

from ..wallet_helpers import make_user
from .test_merchant_app import make_merchant, merchant_app, merchant_login, merchant_wsgi  # noqa: F401
from .test_merchant_webhooks import Recorder, deliveries, endpoint_row, pay_request

POLICY = WebhookPolicy(allow_private_urls=False, require_https=False)


@pytest.fixture
def shop(db):
    return make_merchant(db)


@pytest.fixture
def asha(db):
    return make_user(db, "+919876543210", "Asha", deposit_paise=1_000_00)


@pytest.fixture
def logged_in(merchant_app, shop):  # noqa: F811
    assert merchant_login(merchant_app).status_int == 303
    return merchant_app


def add(app, url, events=(Event.PAYMENT_REQUEST_PAID, Event.REFUND_SUCCEEDED), status=303):
    form = app.get("/webhooks").forms["endpoint-form"]
    form["url"] = url
    for i, checkbox in enumerate(form.fields["events"]):
        form.get("events", index=i).checked = checkbox._value in events
    return form.submit(status=status)


def endpoints(db) -> list[MerchantEndpoint]:
    with db() as session:
        return list(session.scalars(select(MerchantEndpoint).order_by(MerchantEndpoint.id)))


def test_the_pages_need_a_login(merchant_app, shop):  # noqa: F811
    assert "/login" in merchant_app.get("/webhooks", status=303).location
    assert "/login" in merchant_app.get("/webhooks/1", status=303).location


def test_add_an_endpoint_and_see_its_secret(logged_in, db):
    assert "No endpoints yet" in logged_in.get("/webhooks").text
    assert "Webhooks" in logged_in.get("/dashboard").text  # in the nav
    page = add(logged_in, "https://shop.example/hooks/wallet").follow()
    [endpoint] = endpoints(db)
    assert endpoint.url == "https://shop.example/hooks/wallet"
    assert endpoint.events == "payment_request.paid refund.succeeded"
    assert "signing secret" in page.text and endpoint.secret in page.text
    assert page.request.path == f"/webhooks/{endpoint.id}"
    listing = logged_in.get("/webhooks")
    assert "https://shop.example/hooks/wallet" in listing.text and "enabled" in listing.text


@pytest.mark.parametrize("url, events, message", [
    ("http://127.0.0.1:8080/hook", Event.ALL, "not a public one"),
    ("https://169.254.169.254/latest/meta-data", Event.ALL, "private, loopback"),
    ("http://[fec0::1]/h", Event.ALL, "not a public one"),  # site-local (issue 23.7)
    ("https://localhost/hook", Event.ALL, "not localhost"),
    ("ftp://shop.example/hook", Event.ALL, "must start with"),
    ("https://shop.example/hook", (), "at least one event"),
])
def test_a_refused_endpoint_writes_nothing(logged_in, db, url, events, message):
    page = add(logged_in, url, events, status=400)
    assert message in page.text
    assert endpoints(db) == []


def test_forms_need_their_csrf_token(logged_in, db):
    logged_in.post("/webhooks", {"url": "https://shop.example/hook",
                                 "events": "refund.succeeded"}, status=400)
    assert endpoints(db) == []


def test_rotate_disable_enable_and_events(logged_in, db):
    add(logged_in, "https://shop.example/hook")
    [endpoint] = endpoints(db)
    page = logged_in.get(f"/webhooks/{endpoint.id}")
    page = page.forms["rotate-form"].submit(status=303).follow()
    rotated = endpoint_row(db, endpoint.id)
    assert rotated.secret != endpoint.secret and rotated.previous_secret == endpoint.secret
    assert rotated.secret in page.text and "also signs every webhook until" in page.text
    page = page.forms["disable-form"].submit(status=303).follow()
    assert not endpoint_row(db, endpoint.id).enabled and "Disabled by you" in page.text
    page = page.forms["enable-form"].submit(status=303).follow()
    assert endpoint_row(db, endpoint.id).enabled
    form = page.forms["events-form"]
    for i in range(len(form.fields["events"])):
        form.get("events", index=i).checked = False
    assert "at least one event" in form.submit(status=400).text
    form = logged_in.get(f"/webhooks/{endpoint.id}").forms["events-form"]
    for i, checkbox in enumerate(form.fields["events"]):
        form.get("events", index=i).checked = checkbox._value == Event.PAYMENT_REQUEST_EXPIRED
    form.submit(status=303)
    assert endpoint_row(db, endpoint.id).events == "payment_request.expired"


def test_another_shops_endpoint_is_not_found(logged_in, db):
    other = make_merchant(db, "dosa-corner", "Dosa Corner", "dosa@example.com")
    with db() as session, session.begin():
        theirs = MerchantWebhooks(session, POLICY).create(other, "https://dosa.example/hook",
                                                          Event.ALL).id
    logged_in.get(f"/webhooks/{theirs}", status=404)
    token = logged_in.get("/webhooks").forms["endpoint-form"]["csrf_token"].value
    logged_in.post(f"/webhooks/{theirs}/rotate", {"csrf_token": token}, status=404)
    logged_in.post(f"/webhooks/{theirs}/deliveries/1/resend", {"csrf_token": token}, status=404)
    assert endpoint_row(db, theirs).previous_secret is None


def test_the_delivery_log_its_attempts_and_resend(logged_in, db, shop, asha):
    add(logged_in, "https://shop.example/hook")
    [endpoint] = endpoints(db)
    pay_request(db, shop, asha, tasks=Recorder())
    [delivery] = deliveries(db)
    with db() as session, session.begin():
        steps = WebhookDeliveries(session, POLICY)
        claimed = steps.claim(delivery.id)
        steps.record(claimed, SendResult(503, 87, ""))
    page = logged_in.get(f"/webhooks/{endpoint.id}")
    row = page.html.find(id=f"delivery-{delivery.id}")
    assert row["data-status"] == Delivery.RETRYING
    text = row.get_text(" ", strip=True)
    assert "payment_request.paid" in text and "HTTP 503" in text and "87 ms" in text
    assert "IST" in text  # the next try
    detail = logged_in.get(f"/webhooks/{endpoint.id}/deliveries/{delivery.id}")
    assert detail.html.find(id="attempts").get_text(" ", strip=True).count("HTTP 503") == 1
    assert '"type": "payment_request.paid"' in detail.html.find(id="payload").get_text()
    detail.forms["resend-form"].submit(status=303).follow()
    with db() as session:
        rows = list(session.scalars(select(MerchantDelivery).order_by(MerchantDelivery.id)))
    assert len(rows) == 2 and rows[1].event_id == rows[0].event_id
    assert rows[1].status == Delivery.PENDING
    logged_in.get(f"/webhooks/{endpoint.id}/deliveries/{delivery.id + 100}", status=404)


def test_the_dashboard_says_when_an_endpoint_was_disabled(logged_in, db, shop):
    add(logged_in, "https://shop.example/hook")
    add(logged_in, "https://shop.example/other")
    first, second = endpoints(db)
    assert "webhooks-notice" not in logged_in.get("/dashboard").text
    with db() as session, session.begin():
        MerchantWebhooks(session, POLICY).disable(shop, second.id)  # by the shop: no notice
        disable_endpoint(session, session.get(MerchantEndpoint, first.id),
                         "Disabled automatically on 01 Dec 2026: every call failed for 5 days.")
    dashboard = logged_in.get("/dashboard")
    notice = dashboard.html.find(id="webhooks-notice").get_text(" ", strip=True)
    assert "https://shop.example/hook" in notice and "every call failed" in notice
    assert "https://shop.example/other" not in notice
    dashboard.click(href=f"/webhooks/{first.id}").forms["enable-form"].submit(status=303)
    assert "webhooks-notice" not in logged_in.get("/dashboard").text


def test_a_long_url_is_stored_whole_or_refused_never_cut(logged_in, db):
    long_url = "https://shop.example/hooks?token=" + "k" * 250  # 283 characters
    add(logged_in, long_url)
    assert [endpoint.url for endpoint in endpoints(db)] == [long_url]
    too_long = "https://shop.example/hooks?token=" + "k" * 480
    assert "at most 500 characters" in add(logged_in, too_long, status=400).text
    assert len(endpoints(db)) == 1
