"""idempotency keys of shops too: api_idempotency rows belong to a user or a merchant

Revision ID: 6f0c2e4b8a17
Revises: d331b034e65c
Create Date: 2026-11-30 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '6f0c2e4b8a17'
down_revision: Union[str, Sequence[str], None] = 'd331b034e65c'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ONE_OWNER = "(user_id IS NULL) <> (merchant_id IS NULL)"


def upgrade() -> None:
    # Every existing row is a user's: user_id stays as it is.
    with op.batch_alter_table('api_idempotency', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.alter_column('user_id', existing_type=sa.BigInteger().with_variant(
            sa.Integer(), 'sqlite'), nullable=True)
        batch_op.create_foreign_key(op.f('fk_api_idempotency_merchant_id_merchants'),
                                    'merchants', ['merchant_id'], ['id'])
        batch_op.create_unique_constraint(op.f('uq_api_idempotency_merchant_id'),
                                          ['merchant_id', 'key'])
        batch_op.create_check_constraint(op.f('ck_api_idempotency_one_owner'), ONE_OWNER)


def downgrade() -> None:
    op.execute("DELETE FROM api_idempotency WHERE merchant_id IS NOT NULL")
    with op.batch_alter_table('api_idempotency', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_api_idempotency_one_owner'), type_='check')
        batch_op.drop_constraint(op.f('uq_api_idempotency_merchant_id'), type_='unique')
        batch_op.drop_constraint(op.f('fk_api_idempotency_merchant_id_merchants'),
                                 type_='foreignkey')
        batch_op.alter_column('user_id', existing_type=sa.BigInteger().with_variant(
            sa.Integer(), 'sqlite'), nullable=False)
        batch_op.drop_column('merchant_id')
