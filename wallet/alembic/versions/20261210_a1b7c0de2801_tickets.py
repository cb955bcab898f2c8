"""tickets, ticket_events: users' complaints about a transaction and their timelines

Revision ID: a1b7c0de2801
Revises: a1b7c0de2603
Create Date: 2026-12-10 10:00:00

A user reports a problem with one of their transactions (wallet.care.tickets):
open -> investigating -> resolved | rejected, due by its category's deadline;
every step is a line of its timeline (ticket_events). At most one live ticket
per person and transaction (a partial unique index). The categories, statuses,
line kinds and actors are frozen here as literals.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = 'a1b7c0de2801'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de2603'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WHEN = sa.DateTime(timezone=True)
LIVE = "status IN ('open', 'investigating')"
#: (table, column) -> the words allowed, frozen as of this migration.
FROZEN = {
    ('tickets', 'category'): ('not_received', 'pending_too_long', 'wrong_person',
                              'paid_twice', 'not_authorised', 'not_delivered', 'fraud'),
    ('tickets', 'status'): ('open', 'investigating', 'resolved', 'rejected'),
    ('ticket_events', 'kind'): ('opened', 'status', 'finding', 'action', 'compensation',
                                'message'),
    ('ticket_events', 'actor'): ('user', 'system', 'operator', 'shop', 'counterparty'),
}


def _words(words: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{word}'" for word in words) + ")"


def _check(column: str, words: tuple[str, ...]) -> str:
    return f"{column} IN {_words(words)}"


def upgrade() -> None:
    op.create_table(
        'tickets',
        sa.Column('id', ID, nullable=False),
        sa.Column('public_id', sa.String(length=40), nullable=False),
        sa.Column('user_id', ID, nullable=False),
        sa.Column('transaction_id', ID, nullable=False),
        sa.Column('category', sa.String(length=24), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('resolution', sa.String(length=300), nullable=True),
        sa.Column('due_at', WHEN, nullable=False),
        sa.Column('escalated_at', WHEN, nullable=True),
        sa.Column('created_at', WHEN, nullable=False),
        sa.Column('updated_at', WHEN, nullable=False),
        sa.Column('closed_at', WHEN, nullable=True),
        sa.CheckConstraint(_check('category', FROZEN['tickets', 'category']),
                           name=op.f('ck_tickets_category')),
        sa.CheckConstraint(_check('status', FROZEN['tickets', 'status']),
                           name=op.f('ck_tickets_status')),
        sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'],
                                name=op.f('fk_tickets_transaction_id_transactions')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_tickets_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets')),
        sa.UniqueConstraint('public_id', name=op.f('uq_tickets_public_id')),
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_user_id_id', ['user_id', 'id'], unique=False)
        batch_op.create_index('ix_tickets_status_due_at', ['status', 'due_at'], unique=False)
        batch_op.create_index('ix_tickets_transaction_id', ['transaction_id'], unique=False)
        batch_op.create_index('uq_tickets_one_live_per_transaction',
                              ['user_id', 'transaction_id'], unique=True,
                              sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE))
    op.create_table(
        'ticket_events',
        sa.Column('id', ID, nullable=False),
        sa.Column('ticket_id', ID, nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=True),
        sa.Column('actor', sa.String(length=16), nullable=False),
        sa.Column('actor_id', ID, nullable=True),
        sa.Column('text', sa.String(length=500), nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.CheckConstraint(_check('kind', FROZEN['ticket_events', 'kind']),
                           name=op.f('ck_ticket_events_kind')),
        sa.CheckConstraint(_check('actor', FROZEN['ticket_events', 'actor']),
                           name=op.f('ck_ticket_events_actor')),
        sa.CheckConstraint('status IS NULL OR status IN '
                           + _words(FROZEN['tickets', 'status']),
                           name=op.f('ck_ticket_events_status')),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'],
                                name=op.f('fk_ticket_events_ticket_id_tickets')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_events')),
    )
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_events_ticket_id_id', ['ticket_id', 'id'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('ticket_events')
    op.drop_table('tickets')
