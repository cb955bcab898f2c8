"""merchants.receiving_shards: a busy shop's receiving balance spread over shards

Revision ID: a1b7c0de2501
Revises: a1b7c0de2401
Create Date: 2026-12-08 10:00:00

How many ledger accounts receive a shop's payments (wallet.money.shop_shards):
1, the default, is the shop's single wallet account as before, so no shop
changes. The bounds are frozen here (1 to 64).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = 'a1b7c0de2501'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de2401'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('merchants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receiving_shards', sa.Integer(), server_default='1',
                                      nullable=False))
        batch_op.create_check_constraint(op.f('ck_merchants_receiving_shards'),
                                         'receiving_shards BETWEEN 1 AND 64')


def downgrade() -> None:
    with op.batch_alter_table('merchants', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_merchants_receiving_shards'), type_='check')
        batch_op.drop_column('receiving_shards')
