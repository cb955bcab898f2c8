"""The user app's devices page (/me/devices), through WebTest: each browser
and phone app signed in, with its browser and system, its network masked,
"location not known", this device marked; "Sign out" ends one at once (its
next request is refused), "Sign out everywhere else" every other; CSRF."""
from __future__ import annotations

import pytest
import webtest
from sqlalchemy import select

from wallet.identity.models import ApiToken, WebSession
from wallet.identity.user_agents import mask_ip, read_user_agent

from ..api_helpers import auth, sign_in
from ..wallet_helpers import login, make_user

PIXEL = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/120.0.0.0 Mobile Safari/537.36")
MAC = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
       "Gecko) Version/17.1 Safari/605.1.15")


@pytest.fixture
def asha_id(db):
    return make_user(db, "+919876543210", "Asha Verma")


def browser(user_wsgi, agent, ip):
    app = webtest.TestApp(user_wsgi, extra_environ={"REMOTE_ADDR": ip,
                                                    "HTTP_USER_AGENT": agent})
    login(app, "+919876543210")
    return app


def test_the_list_and_signing_one_out(user_wsgi, api, db, asha_id):
    phone = browser(user_wsgi, PIXEL, "203.0.113.7")
    laptop = browser(user_wsgi, MAC, "2001:db8:85a3::8a2e:370:7334")
    token = sign_in(api, device="Asha's Pixel")
    page = phone.get("/me/devices")
    items = page.html.select("#device-list li")
    assert len(items) == 3
    first = items[0]
    assert "This device" in first.text and "Chrome 120 on Android 14" in first.text
    assert "203.0.113.•" in first.text and "Location not known" in first.text
    assert not first.select("button")  # this one: Log out, not here
    laptop_row = next(li for li in items if "Safari 17 on macOS 10" in li.text)
    assert "2001:db8:85a3:•" in laptop_row.text
    assert any("Asha's Pixel" in li.text and "Phone app" in li.text for li in items)
    # Sign the laptop out: its next request is refused at once.
    form = next(f for f in page.forms.values()
                if f.action.endswith(f"/me/devices/{laptop_row['id'][7:]}/sign-out"))
    assert "Signed out on that device." in form.submit(status=303).follow().text
    assert "/login" in laptop.get("/dashboard", status=303).location
    # The phone app too.
    with db() as session:
        token_id = session.scalar(select(ApiToken.id))
    phone.post(f"/me/devices/app_{token_id}/sign-out",
               {"csrf_token": page.forms["sign-out-others-form"]["csrf_token"].value},
               status=303)
    api.get("/v1/me", headers=auth(token), status=401)
    assert len(phone.get("/me/devices").html.select("#device-list li")) == 1


def test_sign_out_everywhere_else(user_wsgi, api, db, asha_id):
    phone = browser(user_wsgi, PIXEL, "203.0.113.7")
    laptop = browser(user_wsgi, MAC, "198.51.100.4")
    token = sign_in(api)
    page = laptop.get("/me/devices")
    page.forms["sign-out-others-form"].submit(status=303)
    phone.get("/dashboard", status=303)
    api.get("/v1/me", headers=auth(token), status=401)
    laptop.get("/dashboard", status=200)


def test_no_csrf_no_sign_out_and_nothing_of_anothers(user_wsgi, db, asha_id):
    phone = browser(user_wsgi, PIXEL, "203.0.113.7")
    laptop = browser(user_wsgi, MAC, "198.51.100.4")
    with db() as session:
        ids = session.scalars(select(WebSession.id).order_by(WebSession.id)).all()
    phone.post(f"/me/devices/web_{ids[1]}/sign-out", {}, status=400)  # no CSRF token
    laptop.get("/dashboard", status=200)
    make_user(db, "+919812345678", "Ravi Kumar")
    ravi = webtest.TestApp(user_wsgi)
    login(ravi, "+919812345678")
    csrf = ravi.get("/me/devices").forms["sign-out-others-form"]["csrf_token"].value
    answer = ravi.post(f"/me/devices/web_{ids[1]}/sign-out", {"csrf_token": csrf}).follow()
    assert "signed out already" in answer.text  # (not his: the same answer, nothing ended)
    laptop.get("/dashboard", status=200)
    ravi.post("/me/devices/web_x/sign-out", {"csrf_token": csrf}, status=404)


@pytest.mark.parametrize("agent, expected", [
    (PIXEL, "Chrome 120 on Android 14"),
    (MAC, "Safari 17 on macOS 10"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
     "like Gecko) Version/17.1 Mobile/15E148 Safari/604.1", "Safari 17 on iOS 17"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91", "Edge 120 on Windows"),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
     "Firefox 121 on Linux"),
    ("WalletApp/2.3 (Android 14)", "Wallet app 2.3 on Android 14"),
    ("", "Unknown browser on unknown system"),
    ("<script>", "Unknown browser on unknown system"),
])
def test_user_agents_read(agent, expected):
    assert str(read_user_agent(agent)) == expected


@pytest.mark.parametrize("ip, expected", [
    ("203.0.113.7", "203.0.113.•"), ("::ffff:198.51.100.4", "198.51.100.•"),
    ("2001:db8::1", "2001:db8:0:•"), ("", ""), ("not an address", ""),
])
def test_addresses_masked(ip, expected):
    assert mask_ip(ip) == expected
