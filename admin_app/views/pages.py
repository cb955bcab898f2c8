"""What operators and viewers read: overview, payouts, deposits, a wallet,
reconciliation runs, the audit log (and their CSV exports)."""
from __future__ import annotations

import csv
import io
from typing import Any

from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response

from wallet.core.codes import Status
from wallet.operations.audit import csv_text
from wallet.operations.oversight import Oversight
from webcommon import request_services, wallet_settings
from webcommon.views import view_config, view_defaults

from ..security import current_operator


def oversight(request: Request) -> Oversight:
    return request_services(request).oversight


def csv_response(text: str, filename: str) -> Response:
    response = Response(text, content_type="text/csv", charset="utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@view_defaults(permission="authenticated")
class Pages:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.oversight = oversight(request)

    def _id(self) -> int:
        return int(self.request.matchdict["id"])

    @view_config(route_name="overview", renderer="overview.jinja2")
    def overview(self) -> dict[str, Any]:
        return {"o": self.oversight.overview(), "operator": current_operator(self.request)}

    @view_config(route_name="payouts", renderer="payouts.jinja2")
    def payouts(self) -> dict[str, Any]:
        status = self.request.params.get("status", "")
        if status not in Status.WITHDRAWAL:
            status = ""
        return {"status": status, "statuses": Status.WITHDRAWAL,
                "payouts": self.oversight.payouts(status or None)}

    @view_config(route_name="payout", renderer="payout.jinja2")
    def payout(self) -> dict[str, Any]:
        found = self.oversight.payout(self._id())
        if found is None:
            raise HTTPNotFound()
        tx, wd, attempts = found
        return {"tx": tx, "wd": wd, "attempts": attempts}

    @view_config(route_name="disputes", renderer="disputes.jinja2")
    def disputes(self) -> dict[str, Any]:
        """Contested disputes of shop payments, oldest first, to decide."""
        return {"disputes": request_services(self.request).disputes.contested()}

    @view_config(route_name="deposits", renderer="deposits.jinja2")
    def deposits(self) -> dict[str, Any]:
        return {"deposits": self.oversight.deposits_needing_a_look()}

    @view_config(route_name="lookup", renderer="lookup.jinja2")
    def lookup(self) -> dict[str, Any]:
        query = self.request.params.get("q", "")[:40]
        found = self.oversight.find(query) if query.strip() else None
        if query.strip() and found is None:
            self.request.response.status = 404
        return {"q": query, "found": found}

    @view_config(route_name="reconciliation", renderer="reconciliation.jinja2",
                 request_method="GET")
    def reconciliation(self) -> dict[str, Any]:
        bank = self.request.params.get("bank", "")
        banks = wallet_settings(self.request).banks
        return {"banks": banks, "bank": bank if bank in banks else "",
                "runs": self.oversight.reconciliation_runs(bank if bank in banks else None)}

    @view_config(route_name="reconciliation_run", renderer="reconciliation_run.jinja2")
    def reconciliation_run(self) -> dict[str, Any]:
        found = self.oversight.reconciliation_run(self._id())
        if found is None:
            raise HTTPNotFound()
        return {"run": found[0], "mismatches": found[1]}

    @view_config(route_name="reconciliation_csv")
    def reconciliation_csv(self) -> Response:
        found = self.oversight.reconciliation_run(self._id())
        if found is None:
            raise HTTPNotFound()
        run, mismatches = found
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["bank", "day", "reference", "problem", "detail"])
        for row in mismatches:
            writer.writerow([run.bank_code, run.day.isoformat(), *row])
        return csv_response(out.getvalue(), f"reconciliation-{run.bank_code}-{run.day}.csv")

    @view_config(route_name="audit", renderer="audit.jinja2")
    def audit(self) -> dict[str, Any]:
        before = self.request.params.get("before", "")
        object_type, _, object_id = self.request.params.get("object", "")[:100].partition(":")
        entries = request_services(self.request).audit_log.entries(
            before_id=int(before) if before.isdigit() and len(before) < 18 else None,
            actor=self.request.params.get("actor", "")[:64] or None,
            object_type=object_type or None, object_id=object_id or None)
        return {"entries": entries}

    @view_config(route_name="audit_csv")
    def audit_csv(self) -> Response:
        return csv_response(csv_text(request_services(self.request).audit_log.all_entries()),
                            "audit-log.csv")
