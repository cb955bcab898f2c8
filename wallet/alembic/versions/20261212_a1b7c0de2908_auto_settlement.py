"""auto settlement: shops' settlement schedules, settlements and their payouts

Revision ID: a1b7c0de2908
Revises: a1b7c0de2907
Create Date: 2026-12-12 12:00:00

A shop's balance goes to its registered bank account by itself
(wallet.banking.auto_settlement): ``settlement_schedules`` (one per shop),
``settlements`` (each with its window key, unique, so a scheduled window is
settled once however many workers sweep) and ``settlement_payouts`` (the
withdrawals a settlement was paid in: several when the bank caps a payout).
Modes, triggers and statuses are frozen here as literals; merchant_events.type
gains ``settlement.processed``.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = 'a1b7c0de2908'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de2907'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WHEN = sa.DateTime(timezone=True)
EVENTS_BEFORE = ('payment_request.paid', 'payment_request.expired', 'refund.succeeded',
                 'mandate.approved', 'mandate.paused', 'mandate.resumed', 'mandate.revoked',
                 'mandate.debit.succeeded', 'mandate.debit.failed',
                 'dispute.opened', 'dispute.accepted', 'dispute.contested', 'dispute.won',
                 'dispute.lost', 'payment_link.paid', 'payment_link.expired')
#: (table, column) -> the words allowed, frozen as of this migration.
FROZEN = {
    ('settlement_schedules', 'mode'): ('daily_times', 't_plus_1', 'off'),
    ('settlements', 'trigger'): ('scheduled', 'manual', 'settle_all'),
    ('settlements', 'status'): ('pending', 'processing', 'paid', 'failed'),
    ('merchant_events', 'type'): EVENTS_BEFORE + ('settlement.processed',),
}


def _check(column: str, words: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{word}'" for word in words) + ")"


def upgrade() -> None:
    op.create_table(
        'settlement_schedules',
        sa.Column('id', ID, nullable=False),
        sa.Column('merchant_id', ID, nullable=False),
        sa.Column('mode', sa.String(length=16), nullable=False),
        sa.Column('times', sa.String(length=100), nullable=False),
        sa.Column('min_balance_paise', sa.BigInteger(), nullable=False),
        sa.Column('bank_account_id', ID, nullable=True),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('next_run_at', WHEN, nullable=True),
        sa.Column('created_at', WHEN, nullable=False),
        sa.Column('updated_at', WHEN, nullable=False),
        sa.CheckConstraint(_check('mode', FROZEN['settlement_schedules', 'mode']),
                           name=op.f('ck_settlement_schedules_mode')),
        sa.CheckConstraint('min_balance_paise >= 0',
                           name=op.f('ck_settlement_schedules_min_balance_not_negative')),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'],
                                name=op.f('fk_settlement_schedules_merchant_id_merchants')),
        sa.ForeignKeyConstraint(
            ['bank_account_id'], ['merchant_bank_accounts.id'],
            name=op.f('fk_settlement_schedules_bank_account_id_merchant_bank_accounts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_settlement_schedules')),
        sa.UniqueConstraint('merchant_id', name=op.f('uq_settlement_schedules_merchant_id')),
    )
    op.create_index('ix_settlement_schedules_enabled_next_run_at', 'settlement_schedules',
                    ['enabled', 'next_run_at'], unique=False)
    op.create_table(
        'settlements',
        sa.Column('id', ID, nullable=False),
        sa.Column('public_id', sa.String(length=40), nullable=False),
        sa.Column('merchant_id', ID, nullable=False),
        sa.Column('trigger', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('period_start', WHEN, nullable=False),
        sa.Column('period_end', WHEN, nullable=False),
        sa.Column('amount_paise', sa.BigInteger(), nullable=False),
        sa.Column('kept_paise', sa.BigInteger(), nullable=False),
        sa.Column('disputes_held_paise', sa.BigInteger(), nullable=False),
        sa.Column('bank_account_id', ID, nullable=False),
        sa.Column('bank_code', sa.String(length=32), nullable=False),
        sa.Column('bank_references', sa.String(length=600), nullable=False),
        sa.Column('window_key', sa.String(length=120), nullable=False),
        sa.Column('failure_reason', sa.String(length=300), nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.Column('updated_at', WHEN, nullable=False),
        sa.Column('settled_at', WHEN, nullable=True),
        sa.CheckConstraint('amount_paise > 0', name=op.f('ck_settlements_amount_positive')),
        sa.CheckConstraint(_check('trigger', FROZEN['settlements', 'trigger']),
                           name=op.f('ck_settlements_trigger')),
        sa.CheckConstraint(_check('status', FROZEN['settlements', 'status']),
                           name=op.f('ck_settlements_status')),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'],
                                name=op.f('fk_settlements_merchant_id_merchants')),
        sa.ForeignKeyConstraint(['bank_account_id'], ['merchant_bank_accounts.id'],
                                name=op.f('fk_settlements_bank_account_id_merchant_bank_accounts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_settlements')),
        sa.UniqueConstraint('public_id', name=op.f('uq_settlements_public_id')),
        sa.UniqueConstraint('window_key', name=op.f('uq_settlements_window_key')),
    )
    op.create_index('ix_settlements_merchant_id_id', 'settlements', ['merchant_id', 'id'],
                    unique=False)
    op.create_table(
        'settlement_payouts',
        sa.Column('id', ID, nullable=False),
        sa.Column('settlement_id', ID, nullable=False),
        sa.Column('transaction_id', ID, nullable=False),
        sa.Column('part', sa.Integer(), nullable=False),
        sa.Column('amount_paise', sa.BigInteger(), nullable=False),
        sa.CheckConstraint('amount_paise > 0',
                           name=op.f('ck_settlement_payouts_amount_positive')),
        sa.ForeignKeyConstraint(['settlement_id'], ['settlements.id'],
                                name=op.f('fk_settlement_payouts_settlement_id_settlements')),
        sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'],
                                name=op.f('fk_settlement_payouts_transaction_id_transactions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_settlement_payouts')),
        sa.UniqueConstraint('transaction_id',
                            name=op.f('uq_settlement_payouts_transaction_id')),
    )
    op.create_index(op.f('ix_settlement_payouts_settlement_id'), 'settlement_payouts',
                    ['settlement_id'], unique=False)
    with op.batch_alter_table('merchant_events', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_merchant_events_type'), type_='check')
        batch_op.create_check_constraint(op.f('ck_merchant_events_type'),
                                         _check('type', FROZEN['merchant_events', 'type']))


def downgrade() -> None:
    with op.batch_alter_table('merchant_events', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_merchant_events_type'), type_='check')
        batch_op.create_check_constraint(op.f('ck_merchant_events_type'),
                                         _check('type', EVENTS_BEFORE))
    op.drop_index(op.f('ix_settlement_payouts_settlement_id'), table_name='settlement_payouts')
    op.drop_table('settlement_payouts')
    op.drop_index('ix_settlements_merchant_id_id', table_name='settlements')
    op.drop_table('settlements')
    op.drop_index('ix_settlement_schedules_enabled_next_run_at',
                  table_name='settlement_schedules')
    op.drop_table('settlement_schedules')
