"""merchant_pins (the shop PIN: hash, wrong tries, lock), merchant_bank_accounts
(where a shop's settlements may go) and merchant_notifications

Revision ID: a1b7c0de2302
Revises: a1b7c0de2301
Create Date: 2026-12-01 09:00:00

New tables only: existing shops have no PIN and no registered account, and
are asked for both before their next settlement.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = 'a1b7c0de2302'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de2301'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
LIVE = "removed_at IS NULL"


def upgrade() -> None:
    op.create_table(
        'merchant_pins',
        sa.Column('merchant_id', ID, nullable=False),
        sa.Column('pin_hash', sa.String(length=100), nullable=False),
        sa.Column('failed_tries', sa.Integer(), nullable=False),
        sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'],
                                name=op.f('fk_merchant_pins_merchant_id_merchants')),
        sa.PrimaryKeyConstraint('merchant_id', name=op.f('pk_merchant_pins')),
    )
    op.create_table(
        'merchant_bank_accounts',
        sa.Column('id', ID, nullable=False),
        sa.Column('merchant_id', ID, nullable=False),
        sa.Column('bank_code', sa.String(length=32), nullable=False),
        sa.Column('account_number', sa.String(length=18), nullable=False),
        sa.Column('ifsc', sa.String(length=11), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('usable_from', sa.DateTime(timezone=True), nullable=False),
        sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'],
                                name=op.f('fk_merchant_bank_accounts_merchant_id_merchants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_merchant_bank_accounts')),
    )
    op.create_index(op.f('ix_merchant_bank_accounts_merchant_id'), 'merchant_bank_accounts',
                    ['merchant_id'])
    op.create_index('uq_merchant_bank_accounts_live', 'merchant_bank_accounts',
                    ['merchant_id', 'bank_code', 'account_number'], unique=True,
                    sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE))
    op.create_table(
        'merchant_notifications',
        sa.Column('id', ID, nullable=False),
        sa.Column('merchant_id', ID, nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('text', sa.String(length=300), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'],
                                name=op.f('fk_merchant_notifications_merchant_id_merchants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_merchant_notifications')),
    )
    op.create_index(op.f('ix_merchant_notifications_merchant_id'), 'merchant_notifications',
                    ['merchant_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_merchant_notifications_merchant_id'),
                  table_name='merchant_notifications')
    op.drop_table('merchant_notifications')
    op.drop_index('uq_merchant_bank_accounts_live', table_name='merchant_bank_accounts',
                  sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE))
    op.drop_index(op.f('ix_merchant_bank_accounts_merchant_id'),
                  table_name='merchant_bank_accounts')
    op.drop_table('merchant_bank_accounts')
    op.drop_table('merchant_pins')
