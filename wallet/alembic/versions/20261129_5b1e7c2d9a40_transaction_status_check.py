"""transactions.status may only hold the wallet's known statuses

Revision ID: 5b1e7c2d9a40
Revises: 73130d0c7f16
Create Date: 2026-11-29 23:40:00

"""
from typing import Sequence, Union

from alembic import op

revision: str = '5b1e7c2d9a40'
down_revision: Union[str, Sequence[str], None] = '73130d0c7f16'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# Frozen: the statuses as of this migration (wallet.codes.Status.ALL then).
STATUS_CHECK = ("status IN ('pending', 'success', 'failed', 'completed', 'queued', "
                "'sending', 'reversed', 'needs_review')")


def upgrade() -> None:
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_transactions_status'), STATUS_CHECK)


def downgrade() -> None:
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_transactions_status'), type_='check')
