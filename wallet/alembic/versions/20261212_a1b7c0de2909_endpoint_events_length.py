"""merchant_endpoints.events: room for every event type

Revision ID: a1b7c0de2909
Revises: a1b7c0de3001
Create Date: 2026-12-12 13:00:00

The endpoint's chosen event types, space-separated: with payment links,
disputes, mandates and settlements there are 17 of them (305 characters
together), more than the 300 the column had; an endpoint that wants every
event failed to save on PostgreSQL. 1000 leaves room for the next ones.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = 'a1b7c0de2909'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de3001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('merchant_endpoints') as batch:
        batch.alter_column('events', existing_type=sa.String(length=300),
                           type_=sa.String(length=1000), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('merchant_endpoints') as batch:
        batch.alter_column('events', existing_type=sa.String(length=1000),
                           type_=sa.String(length=300), existing_nullable=False)
