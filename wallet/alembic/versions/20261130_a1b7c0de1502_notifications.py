"""notifications: what a user hears of in the app (money received, payouts...);
transactions.status_reason: why a deposit failed, in the bank's words

Revision ID: a1b7c0de1502
Revises: a1b7c0de1501
Create Date: 2026-11-30 02:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = 'a1b7c0de1502'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de1501'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'notifications',
        sa.Column('id', ID, nullable=False),
        sa.Column('user_id', ID, nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('text', sa.String(length=300), nullable=False),
        sa.Column('transaction_id', ID, nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'],
                                name=op.f('fk_notifications_transaction_id_transactions')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_notifications_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    )
    op.create_index(op.f('ix_notifications_user_id'), 'notifications', ['user_id'])
    op.create_index('ix_notifications_user_id_read_at', 'notifications', ['user_id', 'read_at'])
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_reason', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_column('status_reason')
    op.drop_index('ix_notifications_user_id_read_at', table_name='notifications')
    op.drop_index(op.f('ix_notifications_user_id'), table_name='notifications')
    op.drop_table('notifications')
