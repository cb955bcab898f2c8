"""tickets.examined_at: when the automatic checks examined a ticket

Revision ID: a1b7c0de2806
Revises: a1b7c0de2801
Create Date: 2026-12-11 10:00:00

The checks (wallet.care.auto_resolve) examine each new ticket once, before any
person looks: the column says they did, whatever they found (a ticket they
cannot answer gets no line, yet must not be examined again), so the sweep for
tickets whose task was lost reads open tickets with no ``examined_at``.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = 'a1b7c0de2806'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de2801'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.add_column(sa.Column('examined_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.drop_column('examined_at')
