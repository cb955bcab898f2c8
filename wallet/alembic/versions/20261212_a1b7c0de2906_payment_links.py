"""payment_links: a shop's shareable links, paid through the checkout; payment_requests name theirs

Revision ID: a1b7c0de2906
Revises: a1b7c0de2902
Create Date: 2026-12-12 12:00:00

A payment link (wallet.merchants.payment_links) is paid through a payment
request made for it at the customer's click, so ``payment_requests`` gains
a nullable ``payment_link_id``. Statuses and amount modes are frozen here as
literals; merchant_events.type (frozen in a1b7c0de2803) gains the links'
two events. ``livemode`` is always true until test-mode keys come.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = 'a1b7c0de2906'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de2902'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WHEN = sa.DateTime(timezone=True)
EVENTS_BEFORE = ('payment_request.paid', 'payment_request.expired', 'refund.succeeded',
                 'mandate.approved', 'mandate.paused', 'mandate.resumed', 'mandate.revoked',
                 'mandate.debit.succeeded', 'mandate.debit.failed',
                 'dispute.opened', 'dispute.accepted', 'dispute.contested', 'dispute.won',
                 'dispute.lost')
#: (table, column) -> the words allowed, frozen as of this migration.
FROZEN = {
    ('payment_links', 'status'): ('active', 'paid', 'expired', 'cancelled'),
    ('payment_links', 'amount_mode'): ('fixed', 'open'),
    ('merchant_events', 'type'): EVENTS_BEFORE + ('payment_link.paid',
                                                  'payment_link.expired'),
}
AMOUNTS = (
    "(amount_mode = 'fixed' AND amount_paise IS NOT NULL AND amount_paise > 0"
    " AND min_paise IS NULL AND max_paise IS NULL)"
    " OR (amount_mode = 'open' AND amount_paise IS NULL"
    " AND (min_paise IS NULL OR min_paise > 0)"
    " AND (max_paise IS NULL OR max_paise >= COALESCE(min_paise, 1)))")


def _check(column: str, words: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{word}'" for word in words) + ")"


def upgrade() -> None:
    op.create_table(
        'payment_links',
        sa.Column('id', ID, nullable=False),
        sa.Column('public_id', sa.String(length=40), nullable=False),
        sa.Column('merchant_id', ID, nullable=False),
        sa.Column('store_id', ID, nullable=True),
        sa.Column('amount_mode', sa.String(length=8), nullable=False),
        sa.Column('amount_paise', sa.BigInteger(), nullable=True),
        sa.Column('min_paise', sa.BigInteger(), nullable=True),
        sa.Column('max_paise', sa.BigInteger(), nullable=True),
        sa.Column('description', sa.String(length=140), nullable=False),
        sa.Column('reference', sa.String(length=40), nullable=True),
        sa.Column('single_use', sa.Boolean(), nullable=False),
        sa.Column('livemode', sa.Boolean(), server_default=sa.text('true'), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('uses_count', sa.Integer(), nullable=False),
        sa.Column('paid_paise', sa.BigInteger(), nullable=False),
        sa.Column('expires_at', WHEN, nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.Column('updated_at', WHEN, nullable=False),
        sa.CheckConstraint(_check('status', FROZEN['payment_links', 'status']),
                           name=op.f('ck_payment_links_status')),
        sa.CheckConstraint(_check('amount_mode', FROZEN['payment_links', 'amount_mode']),
                           name=op.f('ck_payment_links_amount_mode')),
        sa.CheckConstraint(AMOUNTS, name=op.f('ck_payment_links_amounts')),
        sa.CheckConstraint('uses_count >= 0 AND paid_paise >= 0',
                           name=op.f('ck_payment_links_counts')),
        sa.CheckConstraint('NOT single_use OR uses_count <= 1',
                           name=op.f('ck_payment_links_single_use_once')),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'],
                                name=op.f('fk_payment_links_merchant_id_merchants')),
        sa.ForeignKeyConstraint(['store_id'], ['merchant_stores.id'],
                                name=op.f('fk_payment_links_store_id_merchant_stores')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_links')),
        sa.UniqueConstraint('public_id', name=op.f('uq_payment_links_public_id')),
        sa.UniqueConstraint('merchant_id', 'reference',
                            name=op.f('uq_payment_links_merchant_id')),
    )
    op.create_index('ix_payment_links_merchant_id_id', 'payment_links', ['merchant_id', 'id'],
                    unique=False)
    op.create_index('ix_payment_links_status_expires_at', 'payment_links',
                    ['status', 'expires_at'], unique=False)
    with op.batch_alter_table('payment_requests') as batch:
        batch.add_column(sa.Column('payment_link_id', ID, nullable=True))
        batch.create_foreign_key(op.f('fk_payment_requests_payment_link_id_payment_links'),
                                 'payment_links', ['payment_link_id'], ['id'])
        batch.create_index(op.f('ix_payment_requests_payment_link_id'), ['payment_link_id'],
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
    with op.batch_alter_table('payment_requests') as batch:
        batch.drop_index(op.f('ix_payment_requests_payment_link_id'))
        batch.drop_constraint(op.f('fk_payment_requests_payment_link_id_payment_links'),
                              type_='foreignkey')
        batch.drop_column('payment_link_id')
    op.drop_index('ix_payment_links_status_expires_at', table_name='payment_links')
    op.drop_index('ix_payment_links_merchant_id_id', table_name='payment_links')
    op.drop_table('payment_links')
