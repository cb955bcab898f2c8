"""ledger checks: each periodic run of the ledger verification, recorded

Revision ID: a1b7c0de1602
Revises: a1b7c0de1601
Create Date: 2026-11-30 02:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = 'a1b7c0de1602'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de1601'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'ledger_checks',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('duration_ms', sa.Integer(), nullable=False),
        sa.Column('ok', sa.Boolean(), nullable=False),
        sa.Column('problems', sa.Integer(), nullable=False),
        sa.Column('summary', sa.String(length=1000), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_checks')),
    )
    with op.batch_alter_table('ledger_checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_checks_started_at'), ['started_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ledger_checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_checks_started_at'))
    op.drop_table('ledger_checks')
