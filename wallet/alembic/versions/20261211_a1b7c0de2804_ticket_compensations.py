"""ticket_compensations: a day's compensation for a late reversal, paid once

Revision ID: a1b7c0de2804
Revises: a1b7c0de2806
Create Date: 2026-12-11 10:00:00

A ticket about money stuck (wallet.care.compensation) earns the user a credit
for each day past the transaction's reversal deadline while it stays open;
each day paid is one row, unique per (ticket, day), beside the credit's
transaction (an ``adjustment``: a kind the transactions' CHECK already allows,
so that table is untouched).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = 'a1b7c0de2804'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de2806'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'ticket_compensations',
        sa.Column('ticket_id', ID, nullable=False),
        sa.Column('day_number', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('amount_paise', sa.BigInteger(), nullable=False),
        sa.Column('transaction_id', ID, nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.CheckConstraint('day_number >= 1',
                           name=op.f('ck_ticket_compensations_day_number_positive')),
        sa.CheckConstraint('amount_paise > 0',
                           name=op.f('ck_ticket_compensations_amount_positive')),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'],
                                name=op.f('fk_ticket_compensations_ticket_id_tickets')),
        sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'],
                                name=op.f('fk_ticket_compensations_transaction_id_transactions')),
        sa.PrimaryKeyConstraint('ticket_id', 'day_number',
                                name=op.f('pk_ticket_compensations')),
        sa.UniqueConstraint('transaction_id',
                            name=op.f('uq_ticket_compensations_transaction_id')),
    )


def downgrade() -> None:
    op.drop_table('ticket_compensations')
