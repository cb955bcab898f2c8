"""counter_events: the counter's outbox, one row per shop payment

Revision ID: a1b7c0de2904
Revises: a1b7c0de2903
Create Date: 2026-12-12 12:00:00

Written in the payment's own transaction (wallet.money.shop_payments through
wallet.money.records), read by the announcer process (announcer_app) in
``(xid, id)`` order: ``xid`` is the writing transaction's id on PostgreSQL
(0 on SQLite, whose writers are serialized), so that a reader delivers only
what no transaction still running can precede (docs/architecture.md).
Payments made before this table existed are not announced.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = 'a1b7c0de2904'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de2903'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'counter_events',
        sa.Column('id', ID, nullable=False),
        sa.Column('xid', sa.BigInteger(), nullable=False),
        sa.Column('merchant_id', ID, nullable=False),
        sa.Column('store_id', ID, nullable=True),
        sa.Column('transaction_id', ID, nullable=False),
        sa.Column('amount_paise', sa.BigInteger(), nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.CheckConstraint('amount_paise > 0', name=op.f('ck_counter_events_amount_positive')),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'],
                                name=op.f('fk_counter_events_merchant_id_merchants')),
        sa.ForeignKeyConstraint(['store_id'], ['merchant_stores.id'],
                                name=op.f('fk_counter_events_store_id_merchant_stores')),
        sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'],
                                name=op.f('fk_counter_events_transaction_id_transactions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_counter_events')),
        sa.UniqueConstraint('transaction_id', name=op.f('uq_counter_events_transaction_id')),
    )
    op.create_index('ix_counter_events_merchant_id_xid_id', 'counter_events',
                    ['merchant_id', 'xid', 'id'], unique=False)
    op.create_index('ix_counter_events_merchant_id_created_at', 'counter_events',
                    ['merchant_id', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_counter_events_merchant_id_created_at', table_name='counter_events')
    op.drop_index('ix_counter_events_merchant_id_xid_id', table_name='counter_events')
    op.drop_table('counter_events')
