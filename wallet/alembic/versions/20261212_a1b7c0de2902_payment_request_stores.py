"""payment_requests.store_id: the store a payment request is paid at

Revision ID: a1b7c0de2902
Revises: a1b7c0de2901
Create Date: 2026-12-12 11:00:00

A shop's server may name one of its stores when it creates a payment request
(wallet.merchants.stores); the payment then carries it
(``transactions.payee_store_id``). NULL for requests made before stores: the
shop's first store.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = 'a1b7c0de2902'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de2901'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('payment_requests') as batch:
        batch.add_column(sa.Column('store_id', ID, nullable=True))
        batch.create_foreign_key(op.f('fk_payment_requests_store_id_merchant_stores'),
                                 'merchant_stores', ['store_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('payment_requests') as batch:
        batch.drop_constraint(op.f('fk_payment_requests_store_id_merchant_stores'),
                              type_='foreignkey')
        batch.drop_column('store_id')
