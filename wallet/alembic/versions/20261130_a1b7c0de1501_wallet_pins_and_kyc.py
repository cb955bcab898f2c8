"""wallet PINs (hash, wrong tries, lock) and KYC (users.kyc_level, kyc_records)

Revision ID: a1b7c0de1501
Revises: a1b7c0de1602
Create Date: 2026-11-30 02:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = 'a1b7c0de1501'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de1602'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    # Existing users keep the minimum-KYC limits until they complete KYC.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kyc_level', sa.String(length=8), nullable=False,
                                      server_default='minimum'))
        batch_op.create_check_constraint(op.f('ck_users_kyc_level'),
                                         "kyc_level IN ('minimum', 'full')")
    op.create_table(
        'wallet_pins',
        sa.Column('user_id', ID, nullable=False),
        sa.Column('pin_hash', sa.String(length=100), nullable=False),
        sa.Column('failed_tries', sa.Integer(), nullable=False),
        sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_wallet_pins_user_id_users')),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_wallet_pins')),
    )
    op.create_table(
        'kyc_records',
        sa.Column('user_id', ID, nullable=False),
        sa.Column('name_on_pan', sa.String(length=80), nullable=False),
        sa.Column('pan', sa.String(length=10), nullable=False),
        sa.Column('date_of_birth', sa.Date(), nullable=False),
        sa.Column('verifier', sa.String(length=40), nullable=False),
        sa.Column('reference', sa.String(length=80), nullable=False),
        sa.Column('verified_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_kyc_records_user_id_users')),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_kyc_records')),
    )


def downgrade() -> None:
    op.drop_table('kyc_records')
    op.drop_table('wallet_pins')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_kyc_level'), type_='check')
        batch_op.drop_column('kyc_level')
