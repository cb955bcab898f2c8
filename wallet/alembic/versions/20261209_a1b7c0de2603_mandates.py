"""mandates, mandate_debits: AutoPay mandates of shops; merchant_events.type gains their events

Revision ID: a1b7c0de2603
Revises: a1b7c0de2501
Create Date: 2026-12-09 10:00:00

A customer approves a shop's mandate with the PIN (wallet.merchants.mandates);
the shop presents debits within it, at most one per period (the unique
(mandate_id, period_key)), each executed after the pre-debit notice. The
statuses and frequencies are frozen here as literals, and merchant_events.type
(frozen in a1b7c0de2401) gains the mandates' six events.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = 'a1b7c0de2603'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de2602'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
EVENTS_BEFORE = ('payment_request.paid', 'payment_request.expired', 'refund.succeeded')
#: (table, column) -> the words allowed, frozen as of this migration.
FROZEN = {
    ('mandates', 'status'): ('created', 'active', 'paused', 'revoked'),
    ('mandates', 'frequency'): ('daily', 'weekly', 'monthly', 'yearly', 'as_presented'),
    ('mandate_debits', 'status'): ('scheduled', 'awaiting_pin', 'succeeded', 'failed',
                                   'cancelled'),
    ('merchant_events', 'type'): EVENTS_BEFORE + (
        'mandate.approved', 'mandate.paused', 'mandate.resumed', 'mandate.revoked',
        'mandate.debit.succeeded', 'mandate.debit.failed'),
}


def _check(column: str, words: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{word}'" for word in words) + ")"


def upgrade() -> None:
    op.create_table(
        'mandates',
        sa.Column('id', ID, nullable=False),
        sa.Column('public_id', sa.String(length=40), nullable=False),
        sa.Column('merchant_id', ID, nullable=False),
        sa.Column('customer_user_id', ID, nullable=True),
        sa.Column('description', sa.String(length=140), nullable=False),
        sa.Column('max_amount_paise', sa.BigInteger(), nullable=False),
        sa.Column('frequency', sa.String(length=16), nullable=False),
        sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint('max_amount_paise > 0', name=op.f('ck_mandates_max_amount_positive')),
        sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_mandates_ends_after_start')),
        sa.CheckConstraint(_check('status', FROZEN['mandates', 'status']),
                           name=op.f('ck_mandates_status')),
        sa.CheckConstraint(_check('frequency', FROZEN['mandates', 'frequency']),
                           name=op.f('ck_mandates_frequency')),
        sa.ForeignKeyConstraint(['customer_user_id'], ['users.id'],
                                name=op.f('fk_mandates_customer_user_id_users')),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'],
                                name=op.f('fk_mandates_merchant_id_merchants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mandates')),
        sa.UniqueConstraint('public_id', name=op.f('uq_mandates_public_id')),
    )
    with op.batch_alter_table('mandates', schema=None) as batch_op:
        batch_op.create_index('ix_mandates_merchant_id_id', ['merchant_id', 'id'], unique=False)
        batch_op.create_index('ix_mandates_customer_user_id_id', ['customer_user_id', 'id'],
                              unique=False)

    op.create_table(
        'mandate_debits',
        sa.Column('id', ID, nullable=False),
        sa.Column('public_id', sa.String(length=40), nullable=False),
        sa.Column('mandate_id', ID, nullable=False),
        sa.Column('merchant_id', ID, nullable=False),
        sa.Column('amount_paise', sa.BigInteger(), nullable=False),
        sa.Column('period_key', sa.String(length=48), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('execute_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('executed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('failure_code', sa.String(length=40), nullable=False),
        sa.Column('failure_reason', sa.String(length=300), nullable=False),
        sa.Column('transaction_id', ID, nullable=True),
        sa.CheckConstraint('amount_paise > 0', name=op.f('ck_mandate_debits_amount_positive')),
        sa.CheckConstraint(_check('status', FROZEN['mandate_debits', 'status']),
                           name=op.f('ck_mandate_debits_status')),
        sa.ForeignKeyConstraint(['mandate_id'], ['mandates.id'],
                                name=op.f('fk_mandate_debits_mandate_id_mandates')),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'],
                                name=op.f('fk_mandate_debits_merchant_id_merchants')),
        sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'],
                                name=op.f('fk_mandate_debits_transaction_id_transactions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mandate_debits')),
        sa.UniqueConstraint('mandate_id', 'period_key',
                            name=op.f('uq_mandate_debits_mandate_id')),
        sa.UniqueConstraint('public_id', name=op.f('uq_mandate_debits_public_id')),
        sa.UniqueConstraint('transaction_id', name=op.f('uq_mandate_debits_transaction_id')),
    )
    with op.batch_alter_table('mandate_debits', schema=None) as batch_op:
        batch_op.create_index('ix_mandate_debits_mandate_id_id', ['mandate_id', 'id'],
                              unique=False)
        batch_op.create_index('ix_mandate_debits_status_execute_at', ['status', 'execute_at'],
                              unique=False)

    with op.batch_alter_table('merchant_events', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_merchant_events_type'), type_='check')
        batch_op.create_check_constraint(op.f('ck_merchant_events_type'),
                                         _check('type', FROZEN['merchant_events', 'type']))


def downgrade() -> None:
    with op.batch_alter_table('merchant_events', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_merchant_events_type'), type_='check')
        batch_op.create_check_constraint(op.f('ck_merchant_events_type'),
                                         _check('type', EVENTS_BEFORE))
    op.drop_table('mandate_debits')
    op.drop_table('mandates')
