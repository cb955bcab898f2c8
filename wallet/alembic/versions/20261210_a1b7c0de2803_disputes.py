"""disputes: customers' disputes of shop payments; merchant_events.type gains their events

Revision ID: a1b7c0de2803
Revises: a1b7c0de2805
Create Date: 2026-12-10 10:00:00

A customer disputes a shop payment (wallet.merchants.disputes): the disputed
money is held in the shop's wallet until the shop accepts, contests (an
operator decides) or lets ``respond_by`` pass. At most one unresolved
dispute per payment (a partial unique index). Statuses and reasons are frozen
here as literals; merchant_events.type (frozen in a1b7c0de2603) gains the
disputes' five events.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = 'a1b7c0de2803'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de2805'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
EVENTS_BEFORE = ('payment_request.paid', 'payment_request.expired', 'refund.succeeded',
                 'mandate.approved', 'mandate.paused', 'mandate.resumed', 'mandate.revoked',
                 'mandate.debit.succeeded', 'mandate.debit.failed')
#: (table, column) -> the words allowed, frozen as of this migration.
FROZEN = {
    ('disputes', 'status'): ('open', 'accepted', 'contested', 'won', 'lost'),
    ('disputes', 'reason'): ('not_delivered', 'not_authorised'),
    ('merchant_events', 'type'): EVENTS_BEFORE + (
        'dispute.opened', 'dispute.accepted', 'dispute.contested', 'dispute.won',
        'dispute.lost'),
}
UNRESOLVED = "status IN ('open', 'contested')"


def _check(column: str, words: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{word}'" for word in words) + ")"


def upgrade() -> None:
    op.create_table(
        'disputes',
        sa.Column('id', ID, nullable=False),
        sa.Column('public_id', sa.String(length=40), nullable=False),
        sa.Column('merchant_id', ID, nullable=False),
        sa.Column('payment_transaction_id', ID, nullable=False),
        sa.Column('customer_user_id', ID, nullable=False),
        sa.Column('ticket_id', sa.BigInteger(), nullable=True),
        sa.Column('reason', sa.String(length=16), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('disputed_paise', sa.BigInteger(), nullable=False),
        sa.Column('held_paise', sa.BigInteger(), nullable=False),
        sa.Column('hold_id', sa.BigInteger(), nullable=True),
        sa.Column('respond_by', sa.DateTime(timezone=True), nullable=False),
        sa.Column('evidence', sa.String(length=2000), nullable=False),
        sa.Column('decided_by', sa.String(length=80), nullable=False),
        sa.Column('decision_reason', sa.String(length=500), nullable=False),
        sa.Column('refund_transaction_id', ID, nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('responded_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint('disputed_paise > 0', name=op.f('ck_disputes_disputed_positive')),
        sa.CheckConstraint('held_paise >= 0 AND held_paise <= disputed_paise',
                           name=op.f('ck_disputes_held_range')),
        sa.CheckConstraint(_check('status', FROZEN['disputes', 'status']),
                           name=op.f('ck_disputes_status')),
        sa.CheckConstraint(_check('reason', FROZEN['disputes', 'reason']),
                           name=op.f('ck_disputes_reason')),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'],
                                name=op.f('fk_disputes_merchant_id_merchants')),
        sa.ForeignKeyConstraint(['payment_transaction_id'], ['transactions.id'],
                                name=op.f('fk_disputes_payment_transaction_id_transactions')),
        sa.ForeignKeyConstraint(['customer_user_id'], ['users.id'],
                                name=op.f('fk_disputes_customer_user_id_users')),
        sa.ForeignKeyConstraint(['refund_transaction_id'], ['transactions.id'],
                                name=op.f('fk_disputes_refund_transaction_id_transactions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_disputes')),
        sa.UniqueConstraint('public_id', name=op.f('uq_disputes_public_id')),
        sa.UniqueConstraint('refund_transaction_id',
                            name=op.f('uq_disputes_refund_transaction_id')),
    )
    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.create_index('ix_disputes_merchant_id_id', ['merchant_id', 'id'], unique=False)
        batch_op.create_index('ix_disputes_status_respond_by', ['status', 'respond_by'],
                              unique=False)
        batch_op.create_index('uq_disputes_unresolved_payment', ['payment_transaction_id'],
                              unique=True, postgresql_where=sa.text(UNRESOLVED),
                              sqlite_where=sa.text(UNRESOLVED))

    with op.batch_alter_table('merchant_events', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_merchant_events_type'), type_='check')
        batch_op.create_check_constraint(op.f('ck_merchant_events_type'),
                                         _check('type', FROZEN['merchant_events', 'type']))


def downgrade() -> None:
    with op.batch_alter_table('merchant_events', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_merchant_events_type'), type_='check')
        batch_op.create_check_constraint(op.f('ck_merchant_events_type'),
                                         _check('type', EVENTS_BEFORE))
    op.drop_table('disputes')
