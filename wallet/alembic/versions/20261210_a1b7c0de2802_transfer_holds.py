"""transfer_holds: a first payment to a new payee, held for its undo window

Revision ID: a1b7c0de2802
Revises: a1b7c0de2803
Create Date: 2026-12-10 10:00:00

A new table (wallet.money.transfer_holds): one row per transfer held for its
undo window, its status frozen here (wallet.core.codes.TransferHoldStatus);
the transaction itself is ``pending`` meanwhile (transactions.status already
allows it). And an index for the question "has this sender paid this
recipient before?" that every transfer asks in its recipient lookup.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = 'a1b7c0de2802'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de2803'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'transfer_holds',
        sa.Column('transaction_id', ID, nullable=False),
        sa.Column('hold_id', sa.BigInteger(), nullable=False),
        sa.Column('lands_at', WHEN, nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('updated_at', WHEN, nullable=False),
        sa.CheckConstraint("status IN ('pending', 'landed', 'cancelled')",
                           name=op.f('ck_transfer_holds_status')),
        sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'],
                                name=op.f('fk_transfer_holds_transaction_id_transactions')),
        sa.PrimaryKeyConstraint('transaction_id', name=op.f('pk_transfer_holds')),
    )
    op.create_index('ix_transfer_holds_due', 'transfer_holds', ['lands_at'],
                    sqlite_where=sa.text("status = 'pending'"),
                    postgresql_where=sa.text("status = 'pending'"))
    op.create_index('ix_transactions_transfer_pair', 'transactions',
                    ['payer_user_id', 'payee_user_id'],
                    sqlite_where=sa.text("kind = 'transfer'"),
                    postgresql_where=sa.text("kind = 'transfer'"))


def downgrade() -> None:
    op.drop_index('ix_transactions_transfer_pair', table_name='transactions')
    op.drop_index('ix_transfer_holds_due', table_name='transfer_holds')
    op.drop_table('transfer_holds')
