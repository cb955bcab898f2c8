"""user_bank_accounts: a user's saved accounts for withdrawals; api_tokens
keep the app's browser and address for the devices list

Revision ID: a1b7c0de3004
Revises: a1b7c0de2909
Create Date: 2026-12-12 14:00:00

A table of its own rather than merchant_bank_accounts shared: its owner is a
user (a foreign key to users, not to merchants: a shared table would need two
nullable owners and a CHECK), it keeps the holder's name as the bank reported
it, and it has no cooling-off (a user may type any account on the withdraw
form anyway). The rules both kinds share live in one module
(wallet.banking.account_details). ``api_tokens.user_agent`` and ``ip``:
empty for tokens issued before.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = 'a1b7c0de3004'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de2909'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WHEN = sa.DateTime(timezone=True)
LIVE = "removed_at IS NULL"


def upgrade() -> None:
    op.create_table(
        'user_bank_accounts',
        sa.Column('id', ID, nullable=False),
        sa.Column('user_id', ID, nullable=False),
        sa.Column('bank_code', sa.String(length=32), nullable=False),
        sa.Column('account_number', sa.String(length=18), nullable=False),
        sa.Column('ifsc', sa.String(length=11), nullable=False),
        sa.Column('holder_name', sa.String(length=80), nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.Column('removed_at', WHEN, nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_user_bank_accounts_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_user_bank_accounts')),
    )
    op.create_index(op.f('ix_user_bank_accounts_user_id'), 'user_bank_accounts', ['user_id'])
    op.create_index('uq_user_bank_accounts_live', 'user_bank_accounts',
                    ['user_id', 'bank_code', 'account_number'], unique=True,
                    sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE))
    with op.batch_alter_table('api_tokens') as batch:
        batch.add_column(sa.Column('user_agent', sa.String(length=200), server_default='',
                                   nullable=False))
        batch.add_column(sa.Column('ip', sa.String(length=64), server_default='',
                                   nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('api_tokens') as batch:
        batch.drop_column('ip')
        batch.drop_column('user_agent')
    op.drop_index('uq_user_bank_accounts_live', table_name='user_bank_accounts',
                  sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE))
    op.drop_index(op.f('ix_user_bank_accounts_user_id'), table_name='user_bank_accounts')
    op.drop_table('user_bank_accounts')
