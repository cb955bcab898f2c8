"""money requests, split bills and blocked requesters

Revision ID: a1b7c0de2601
Revises: a1b7c0de2501
Create Date: 2026-12-09 10:00:00

A user asks another for money (money_requests: pending -> paid | declined |
expired | cancelled), alone or as a share of a split bill (splits: open ->
closed), and may block a requester (request_blocks). The statuses and modes
are frozen here as literals (wallet.core.codes.MoneyRequestStatus, SplitMode,
SplitStatus); a later change of words needs its own migration.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = 'a1b7c0de2601'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de2501'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WHEN = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f'{target}.id'],
                                   name=op.f(f'fk_{table}_{column}_{target}'))


def upgrade() -> None:
    op.create_table(
        'request_blocks',
        sa.Column('id', ID, nullable=False),
        sa.Column('user_id', ID, nullable=False),
        sa.Column('blocked_user_id', ID, nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        _fk('request_blocks', 'blocked_user_id', 'users'),
        _fk('request_blocks', 'user_id', 'users'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_request_blocks')),
        sa.UniqueConstraint('user_id', 'blocked_user_id',
                            name=op.f('uq_request_blocks_user_id')),
    )
    op.create_table(
        'splits',
        sa.Column('id', ID, nullable=False),
        sa.Column('public_id', sa.String(length=40), nullable=False),
        sa.Column('creator_user_id', ID, nullable=False),
        sa.Column('title', sa.String(length=80), nullable=False),
        sa.Column('mode', sa.String(length=8), nullable=False),
        sa.Column('total_paise', sa.BigInteger(), nullable=False),
        sa.Column('creator_share_paise', sa.BigInteger(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.Column('updated_at', WHEN, nullable=False),
        sa.Column('closed_at', WHEN, nullable=True),
        sa.Column('reminded_at', WHEN, nullable=True),
        sa.CheckConstraint("mode IN ('equal', 'exact', 'shares')", name=op.f('ck_splits_mode')),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_splits_status')),
        sa.CheckConstraint('creator_share_paise >= 0',
                           name=op.f('ck_splits_creator_share_not_negative')),
        sa.CheckConstraint('total_paise > 0', name=op.f('ck_splits_total_positive')),
        _fk('splits', 'creator_user_id', 'users'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_splits')),
        sa.UniqueConstraint('public_id', name=op.f('uq_splits_public_id')),
    )
    with op.batch_alter_table('splits', schema=None) as batch_op:
        batch_op.create_index('ix_splits_creator_user_id_id', ['creator_user_id', 'id'],
                              unique=False)
    op.create_table(
        'money_requests',
        sa.Column('id', ID, nullable=False),
        sa.Column('public_id', sa.String(length=40), nullable=False),
        sa.Column('requester_user_id', ID, nullable=False),
        sa.Column('payer_user_id', ID, nullable=False),
        sa.Column('amount_paise', sa.BigInteger(), nullable=False),
        sa.Column('note', sa.String(length=140), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('split_id', ID, nullable=True),
        sa.Column('expires_at', WHEN, nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.Column('updated_at', WHEN, nullable=False),
        sa.Column('closed_at', WHEN, nullable=True),
        sa.Column('transaction_id', ID, nullable=True),
        sa.CheckConstraint("status IN ('pending', 'paid', 'declined', 'expired', 'cancelled')",
                           name=op.f('ck_money_requests_status')),
        sa.CheckConstraint('amount_paise > 0', name=op.f('ck_money_requests_amount_positive')),
        sa.CheckConstraint('requester_user_id <> payer_user_id',
                           name=op.f('ck_money_requests_not_self')),
        _fk('money_requests', 'payer_user_id', 'users'),
        _fk('money_requests', 'requester_user_id', 'users'),
        _fk('money_requests', 'split_id', 'splits'),
        _fk('money_requests', 'transaction_id', 'transactions'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_money_requests')),
        sa.UniqueConstraint('public_id', name=op.f('uq_money_requests_public_id')),
        sa.UniqueConstraint('transaction_id', name=op.f('uq_money_requests_transaction_id')),
    )
    with op.batch_alter_table('money_requests', schema=None) as batch_op:
        for name, columns in INDEXES:
            batch_op.create_index(name, columns, unique=False)


INDEXES = (
    ('ix_money_requests_payer_user_id_id', ['payer_user_id', 'id']),
    ('ix_money_requests_requester_user_id_created_at', ['requester_user_id', 'created_at']),
    ('ix_money_requests_requester_user_id_id', ['requester_user_id', 'id']),
    ('ix_money_requests_split_id', ['split_id']),
    ('ix_money_requests_status_expires_at', ['status', 'expires_at']),
)


def downgrade() -> None:
    with op.batch_alter_table('money_requests', schema=None) as batch_op:
        for name, _ in reversed(INDEXES):
            batch_op.drop_index(name)
    op.drop_table('money_requests')
    with op.batch_alter_table('splits', schema=None) as batch_op:
        batch_op.drop_index('ix_splits_creator_user_id_id')
    op.drop_table('splits')
    op.drop_table('request_blocks')
