"""users.handle: a person's receive handle (asha@wallet), chosen once

Revision ID: a1b7c0de3003
Revises: a1b7c0de3005
Create Date: 2026-12-12 12:00:00

Nullable (nobody has one until they choose it) and unique: a handle pays
exactly one person (wallet.identity.handles).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = 'a1b7c0de3003'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de3005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('handle', sa.String(length=30), nullable=True))
        batch.create_unique_constraint(op.f('uq_users_handle'), ['handle'])


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_constraint(op.f('uq_users_handle'), type_='unique')
        batch.drop_column('handle')
