"""payment_schedules and schedule_runs: scheduled and recurring payments

Revision ID: a1b7c0de2602
Revises: a1b7c0de2501
Create Date: 2026-12-09 10:00:00

New tables only (wallet.money.schedules). A run is one row, unique per
(schedule_id, run_number): its ledger key is derived from the pair, so a
crashed or second worker never pays it twice. The statuses and frequencies
are frozen here (wallet.core.codes.ScheduleStatus, RunStatus, ScheduleFrequency).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = 'a1b7c0de2602'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de2601'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WHEN = sa.DateTime(timezone=True)

#: (table, column) -> the words allowed, frozen as of this migration.
FROZEN = {
    ('payment_schedules', 'status'): ('active', 'paused', 'completed', 'cancelled'),
    ('payment_schedules', 'frequency'): ('once', 'weekly', 'monthly'),
    ('schedule_runs', 'status'): ('scheduled', 'retrying', 'awaiting_pin', 'completed',
                                  'failed', 'skipped', 'cancelled'),
}


def _check(table: str, column: str) -> sa.CheckConstraint:
    words = ", ".join(f"'{word}'" for word in FROZEN[(table, column)])
    return sa.CheckConstraint(f"{column} IN ({words})", name=op.f(f'ck_{table}_{column}'))


def upgrade() -> None:
    op.create_table(
        'payment_schedules',
        sa.Column('id', ID, nullable=False),
        sa.Column('public_id', sa.String(length=40), nullable=False),
        sa.Column('payer_user_id', ID, nullable=False),
        sa.Column('payee_user_id', ID, nullable=True),
        sa.Column('payee_merchant_id', ID, nullable=True),
        sa.Column('amount_paise', sa.BigInteger(), nullable=False),
        sa.Column('note', sa.String(length=140), nullable=False),
        sa.Column('frequency', sa.String(length=16), nullable=False),
        sa.Column('start_date', sa.Date(), nullable=False),
        sa.Column('end_date', sa.Date(), nullable=True),
        sa.Column('max_runs', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('last_run_number', sa.Integer(), nullable=False),
        sa.Column('idempotency_key', sa.String(length=200), nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.Column('updated_at', WHEN, nullable=False),
        sa.CheckConstraint('amount_paise > 0',
                           name=op.f('ck_payment_schedules_amount_positive')),
        _check('payment_schedules', 'status'),
        _check('payment_schedules', 'frequency'),
        sa.CheckConstraint('(payee_user_id IS NULL) <> (payee_merchant_id IS NULL)',
                           name=op.f('ck_payment_schedules_one_payee')),
        sa.ForeignKeyConstraint(['payer_user_id'], ['users.id'],
                                name=op.f('fk_payment_schedules_payer_user_id_users')),
        sa.ForeignKeyConstraint(['payee_user_id'], ['users.id'],
                                name=op.f('fk_payment_schedules_payee_user_id_users')),
        sa.ForeignKeyConstraint(['payee_merchant_id'], ['merchants.id'],
                                name=op.f('fk_payment_schedules_payee_merchant_id_merchants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_schedules')),
        sa.UniqueConstraint('public_id', name=op.f('uq_payment_schedules_public_id')),
        sa.UniqueConstraint('idempotency_key',
                            name=op.f('uq_payment_schedules_idempotency_key')),
    )
    op.create_index('ix_payment_schedules_payer_user_id_id', 'payment_schedules',
                    ['payer_user_id', 'id'])
    op.create_table(
        'schedule_runs',
        sa.Column('id', ID, nullable=False),
        sa.Column('schedule_id', ID, nullable=False),
        sa.Column('run_number', sa.Integer(), nullable=False),
        sa.Column('due_date', sa.Date(), nullable=False),
        sa.Column('notify_at', WHEN, nullable=False),
        sa.Column('notified_at', WHEN, nullable=True),
        sa.Column('attempt_at', WHEN, nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('failure_reason', sa.String(length=300), nullable=True),
        sa.Column('transaction_id', ID, nullable=True),
        sa.Column('created_at', WHEN, nullable=False),
        sa.Column('updated_at', WHEN, nullable=False),
        _check('schedule_runs', 'status'),
        sa.ForeignKeyConstraint(['schedule_id'], ['payment_schedules.id'],
                                name=op.f('fk_schedule_runs_schedule_id_payment_schedules')),
        sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'],
                                name=op.f('fk_schedule_runs_transaction_id_transactions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule_runs')),
        sa.UniqueConstraint('schedule_id', 'run_number',
                            name=op.f('uq_schedule_runs_schedule_id')),
        sa.UniqueConstraint('transaction_id', name=op.f('uq_schedule_runs_transaction_id')),
    )
    op.create_index('ix_schedule_runs_status_attempt_at', 'schedule_runs',
                    ['status', 'attempt_at'])
    op.create_index('ix_schedule_runs_notified_at_notify_at', 'schedule_runs',
                    ['notified_at', 'notify_at'])


def downgrade() -> None:
    op.drop_index('ix_schedule_runs_notified_at_notify_at', table_name='schedule_runs')
    op.drop_index('ix_schedule_runs_status_attempt_at', table_name='schedule_runs')
    op.drop_table('schedule_runs')
    op.drop_index('ix_payment_schedules_payer_user_id_id', table_name='payment_schedules')
    op.drop_table('payment_schedules')
