"""Scheduled and recurring payments (wallet.money.schedules): the list, a new
schedule (its form, then the confirm step with the PIN), one schedule with
its runs, skip / pause / resume / cancel, and a run above the per-run cap
paid with the PIN (the confirm step again)."""
from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response

from wallet.core.errors import WalletError
from wallet.core.models import User
from wallet.core.text import whole_number
from wallet.money.errors import ScheduleNotFound
from wallet.money.models import PaymentSchedule
from wallet.money.schedule_quotes import RunQuote, describe_rule, quote_schedule
from wallet.money.schedules import PaymentSchedules
from webcommon import request_services
from webcommon.views import view_config, view_defaults

from .confirm import ConfirmStep, confirm_page, confirm_step
from .forms import field, new_request_key
from .stepup import pin_setup

#: The new schedule form's fields, as typed.
FIELDS = ("phone", "handle", "amount", "frequency", "start_date", "end_date", "count", "note",
          "request_key")


@view_defaults(permission="authenticated")
class ScheduleViews:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.user: User = request.identity
        services = request_services(request)
        self.schedules: PaymentSchedules = services.payment_schedules
        self.activity = services.activity

    # ----------------------------------------------------------- the list

    @view_config(route_name="schedules", renderer="schedules.jinja2", request_method="GET")
    def index(self) -> dict[str, Any]:
        rows, _ = self.schedules.page(self.user, limit=50)
        return {"items": [self._shown(row) for row in rows]}

    def _shown(self, schedule: PaymentSchedule) -> dict[str, Any]:
        return {"schedule": schedule, "payee": self.schedules.payee_of(schedule),
                "next_run": self.schedules.next_run(schedule),
                "rule": describe_rule(schedule.frequency, schedule.start_date,
                                      schedule.end_date, schedule.max_runs)}

    # -------------------------------------------------------- a new one

    def _form(self, errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
              status: int = 200) -> dict[str, Any]:
        self.request.override_renderer = "schedule_new.jinja2"
        self.request.response.status = status
        values = dict(values or {})
        values.setdefault("request_key", new_request_key())
        return {"errors": errors or {}, "values": values,
                "balance": self.activity.balance(self.user),
                "run_cap_paise": self.schedules.policy.run_cap_paise}

    @view_config(route_name="schedule_new", renderer="schedule_new.jinja2", request_method="GET")
    def new(self) -> dict[str, Any] | Response:
        return pin_setup(self.request) or self._form()

    @view_config(route_name="schedule_new", renderer="schedule_new.jinja2",
                 request_method="POST")
    def create(self) -> dict[str, Any] | Response:
        values = {name: field(self.request, name) for name in FIELDS}
        return confirm_step(
            self.request,
            ConfirmStep(self.request.route_url("schedule_new"), "Approve schedule", values),
            lambda: quote_schedule(
                self.schedules, self.user, to_phone=values["phone"],
                merchant_handle=values["handle"], amount=values["amount"],
                frequency=values["frequency"], start_date=values["start_date"],
                end_date=values["end_date"], count=values["count"], note=values["note"]),
            form=lambda errors, status: self._form(errors, values, status),
            done=lambda schedule: self._to(schedule.public_id, "Scheduled: it is listed here."))

    # --------------------------------------------------------- one schedule

    def _found(self) -> PaymentSchedule:
        try:
            return self.schedules.get(self.user, self.request.matchdict["id"])
        except ScheduleNotFound:
            raise HTTPNotFound() from None

    @view_config(route_name="schedule", renderer="schedule.jinja2", request_method="GET")
    def show(self) -> dict[str, Any]:
        schedule = self._found()
        return {**self._shown(schedule), "runs": self.schedules.runs(schedule, limit=24)}

    def _to(self, public_id: str, message: str) -> Response:
        self.request.session.flash(message)
        return HTTPSeeOther(self.request.route_url("schedule", id=public_id))

    def _act(self, what: str, done: str, *args: Any) -> Response:
        public_id = self.request.matchdict["id"]
        try:
            getattr(self.schedules, what)(self.user, public_id, *args)
        except ScheduleNotFound:
            raise HTTPNotFound() from None
        except WalletError as exc:
            return self._to(public_id, str(exc))
        return self._to(public_id, done)

    @view_config(route_name="schedule_skip", request_method="POST")
    def skip(self) -> Response:
        number = whole_number(field(self.request, "run_number"), max_digits=6)
        if number is None:
            raise HTTPNotFound()
        return self._act("skip", f"Payment {number} skipped.", number)

    @view_config(route_name="schedule_pause", request_method="POST")
    def pause(self) -> Response:
        return self._act("pause", "Paused: no payment is made until you resume it.")

    @view_config(route_name="schedule_resume", request_method="POST")
    def resume(self) -> Response:
        return self._act("resume", "Resumed.")

    @view_config(route_name="schedule_cancel", request_method="POST")
    def cancel(self) -> Response:
        return self._act("cancel", "Cancelled: no further payment will be made.")

    # ------------------------------------------------ a run that waits for the PIN

    def _run_step(self) -> tuple[RunQuote, ConfirmStep]:
        public_id, number = self.request.matchdict["id"], int(self.request.matchdict["number"])
        quote = RunQuote(self.schedules, self.user, public_id, number)
        values = {"request_key": field(self.request, "request_key") or new_request_key()}
        action = self.request.route_url("schedule_run_pay", id=public_id, number=number)
        return quote, ConfirmStep(action, "Pay now", values)

    @view_config(route_name="schedule_run_pay", renderer="confirm.jinja2",
                 request_method="GET")
    def run_page(self) -> dict[str, Any] | Response:
        quote, step = self._run_step()
        try:
            text = quote.preview(step.values["request_key"])
        except ScheduleNotFound:
            raise HTTPNotFound() from None
        except WalletError as exc:
            return self._to(quote.public_id, str(exc))
        return confirm_page(self.request, question=text.question, details=text.details,
                            action=step.action, values=step.values, button=step.button)

    @view_config(route_name="schedule_run_pay", renderer="confirm.jinja2",
                 request_method="POST")
    def run_pay(self) -> dict[str, Any] | Response:
        quote, step = self._run_step()
        try:
            quote.preview(step.values["request_key"])
        except ScheduleNotFound:
            raise HTTPNotFound() from None
        except WalletError as exc:
            return self._to(quote.public_id, str(exc))
        return confirm_step(
            self.request, step, lambda: quote,
            form=lambda errors, status: self._to(quote.public_id, " ".join(errors.values())),
            done=lambda tx: HTTPSeeOther(self.request.route_url(
                "transaction", id=tx.id, _query={"sent": "1"})))
