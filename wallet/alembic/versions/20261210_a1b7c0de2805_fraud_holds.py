"""fraud_holds: money frozen in a recipient's wallet when its sender reports fraud

Revision ID: a1b7c0de2805
Revises: a1b7c0de2804
Create Date: 2026-12-10 12:00:00

A sender reports fraud on a transfer (wallet.care.fraud): a ticket of category
fraud, and what of the amount is still in the recipient's wallet held (a
ledger hold); an operator returns it to the sender or releases it. One row per
ticket; its statuses frozen here as literals.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = 'a1b7c0de2805'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de2804'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WHEN = sa.DateTime(timezone=True)
FROZEN = {('fraud_holds', 'status'): ('held', 'returned', 'released', 'none')}


def upgrade() -> None:
    words = "(" + ", ".join(f"'{w}'" for w in FROZEN['fraud_holds', 'status']) + ")"
    op.create_table(
        'fraud_holds',
        sa.Column('id', ID, nullable=False),
        sa.Column('ticket_id', ID, nullable=False),
        sa.Column('transaction_id', ID, nullable=False),
        sa.Column('recipient_user_id', ID, nullable=False),
        sa.Column('hold_id', sa.BigInteger(), nullable=True),
        sa.Column('held_paise', sa.BigInteger(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.Column('decided_at', WHEN, nullable=True),
        sa.Column('decided_by', ID, nullable=True),
        sa.Column('reason', sa.String(length=300), nullable=True),
        sa.CheckConstraint(f"status IN {words}", name=op.f('ck_fraud_holds_status')),
        sa.CheckConstraint('held_paise >= 0', name=op.f('ck_fraud_holds_held_not_negative')),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'],
                                name=op.f('fk_fraud_holds_ticket_id_tickets')),
        sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'],
                                name=op.f('fk_fraud_holds_transaction_id_transactions')),
        sa.ForeignKeyConstraint(['recipient_user_id'], ['users.id'],
                                name=op.f('fk_fraud_holds_recipient_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_fraud_holds')),
        sa.UniqueConstraint('ticket_id', name=op.f('uq_fraud_holds_ticket_id')),
    )
    with op.batch_alter_table('fraud_holds', schema=None) as batch_op:
        batch_op.create_index('ix_fraud_holds_recipient_user_id', ['recipient_user_id'],
                              unique=False)
        batch_op.create_index('ix_fraud_holds_status_id', ['status', 'id'], unique=False)
        batch_op.create_index('ix_fraud_holds_transaction_id', ['transaction_id'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('fraud_holds')
