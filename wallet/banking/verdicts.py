"""What became of a bank's webhook delivery: one word, stored with the
delivery (``webhook_attempts.verdict``, ``webhook_events.outcome``) and
answered to the bank (docs/webhooks.md)."""
from __future__ import annotations

from enum import StrEnum

from ..core.codes import Settled


class Verdict(StrEnum):
    """What became of a delivery (stored with it, and answered to the bank)."""

    # refused before the event is read (wallet.banking.bank_webhooks)
    UNKNOWN_BANK = "unknown_bank"
    IP_NOT_ALLOWED = "ip_not_allowed"
    BODY_TOO_LARGE = "body_too_large"
    MISSING_SIGNATURE = "missing_signature"
    BAD_SIGNATURE = "bad_signature"
    STALE_TIMESTAMP = "stale_timestamp"
    BAD_EVENT_ID = "bad_event_id"
    # the event read, and what became of it
    APPLIED = "applied"
    ALREADY_SETTLED = "already_settled"
    FLAGGED_CONTRADICTION = "flagged_contradiction"  # stored, flagged, never applied
    FLAGGED_MISMATCH = "flagged_mismatch"  # amount or currency differs from ours
    UNKNOWN_REFERENCE = "unknown_reference"  # not processed: judged afresh next time
    DUPLICATE_EVENT = "duplicate_event"  # this event was processed before
    REPLAYED_EVENT_ID = "replayed_event_id"  # the id was used for another event
    MALFORMED_JSON = "malformed_json"  # the protocol cannot read the body
    MISSING_FIELDS = "missing_fields"  # missing, of the wrong type, or not strictly valid
    # (webhook_events.outcome only, while the event is applied)
    PROCESSING = "processing"

    @classmethod
    def of(cls, settled: Settled) -> Verdict:
        """The verdict of a delivery whose event the state machine answered so."""
        if settled.applied:
            return cls.APPLIED
        return _VERDICT_OF[settled]


_VERDICT_OF = {
    Settled.ALREADY_SETTLED: Verdict.ALREADY_SETTLED,
    Settled.CONTRADICTION: Verdict.FLAGGED_CONTRADICTION,
    Settled.MISMATCH: Verdict.FLAGGED_MISMATCH,
    Settled.UNKNOWN_REFERENCE: Verdict.UNKNOWN_REFERENCE,
}
