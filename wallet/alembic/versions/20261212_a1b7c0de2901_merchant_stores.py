"""merchant_stores: a shop's outlets; a payment carries the store it was paid at

Revision ID: a1b7c0de2901
Revises: a1b7c0de2802
Create Date: 2026-12-12 10:00:00

A new table (wallet.core.models.MerchantStore), one store for every shop
already there (its name and handle: paying the shop's handle is paying its
first store), and ``transactions.payee_store_id`` (NULL for what is not a
payment to a shop, and for payments made before stores existed).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = 'a1b7c0de2901'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de2802'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'merchant_stores',
        sa.Column('id', ID, nullable=False),
        sa.Column('merchant_id', ID, nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('handle', sa.String(length=30), nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.Column('closed_at', WHEN, nullable=True),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'],
                                name=op.f('fk_merchant_stores_merchant_id_merchants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_merchant_stores')),
        sa.UniqueConstraint('handle', name=op.f('uq_merchant_stores_handle')),
    )
    op.create_index(op.f('ix_merchant_stores_merchant_id'), 'merchant_stores',
                    ['merchant_id'], unique=False)
    op.execute("INSERT INTO merchant_stores (merchant_id, name, handle, created_at) "
               "SELECT id, name, handle, created_at FROM merchants ORDER BY id")
    with op.batch_alter_table('transactions') as batch:
        batch.add_column(sa.Column('payee_store_id', ID, nullable=True))
        batch.create_foreign_key(op.f('fk_transactions_payee_store_id_merchant_stores'),
                                 'merchant_stores', ['payee_store_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('transactions') as batch:
        batch.drop_constraint(op.f('fk_transactions_payee_store_id_merchant_stores'),
                              type_='foreignkey')
        batch.drop_column('payee_store_id')
    op.drop_index(op.f('ix_merchant_stores_merchant_id'), table_name='merchant_stores')
    op.drop_table('merchant_stores')
