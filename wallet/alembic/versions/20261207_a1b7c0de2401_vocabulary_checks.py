"""payout_attempts.kind and .outcome, merchant_events.type: only known words

Revision ID: a1b7c0de2401
Revises: a1b7c0de2307
Create Date: 2026-12-07 11:00:00

Every state machine's status already had its CHECK (transactions.status and
.kind, payment_requests.status, merchant_deliveries.status, users.kyc_level,
operators.role, web_sessions.principal_kind); the payout attempt log and the
shops' event outbox did not. The words are frozen here, as they are today
(wallet.core.codes.AttemptKind, AttemptOutcome, Event); a later vocabulary
change needs its own migration.

Not checked: the webhook audit tables (webhook_attempts.verdict,
webhook_events.outcome) and audit_log keep what happened, in the words of the
code of the day, and audit_log cannot be rebuilt by batch mode on SQLite
without losing its append-only triggers.
"""
from typing import Sequence, Union

from alembic import op

revision: str = 'a1b7c0de2401'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de2307'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

#: (table, column) -> the words allowed, frozen as of this migration.
FROZEN = {
    ('payout_attempts', 'kind'): ('send', 'status', 'operator'),
    ('payout_attempts', 'outcome'): ('in_progress', 'accepted', 'rejected', 'reversed',
                                     'no_record', 'unknown', 'retry', 'resolved'),
    ('merchant_events', 'type'): ('payment_request.paid', 'payment_request.expired',
                                  'refund.succeeded'),
}


def _check(column: str, words: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{word}'" for word in words) + ")"


def upgrade() -> None:
    for table in ('payout_attempts', 'merchant_events'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for (name, column), words in FROZEN.items():
                if name == table:
                    batch_op.create_check_constraint(op.f(f'ck_{table}_{column}'),
                                                     _check(column, words))


def downgrade() -> None:
    for table in ('merchant_events', 'payout_attempts'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for (name, column) in FROZEN:
                if name == table:
                    batch_op.drop_constraint(op.f(f'ck_{table}_{column}'), type_='check')
