"""operators of the console, an append-only audit log, stored reconciliation
runs, and frozen wallets

Revision ID: a1b7c0de1601
Revises: 6f0c2e4b8a17
Create Date: 2026-11-30 02:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = 'a1b7c0de1601'
down_revision: Union[str, Sequence[str], None] = '6f0c2e4b8a17'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WHEN = sa.DateTime(timezone=True)

# The audit log is append-only in the database too: whatever the code does,
# an UPDATE or DELETE of a row is refused. (TRUNCATE, a table owner's
# maintenance statement, is left to the database's privileges.)
PG_FUNCTION = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""
PG_TRIGGER = """
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()
"""
SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER audit_log_no_{op_name.lower()} BEFORE {op_name} ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: {op_name} refused'); END"""
    for op_name in ("UPDATE", "DELETE")
]


def upgrade() -> None:
    op.create_table(
        'operators',
        sa.Column('id', ID, nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('password_hash', sa.String(length=100), nullable=False),
        sa.Column('totp_secret', sa.String(length=64), nullable=False),
        sa.Column('last_totp_step', sa.Integer(), nullable=True),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.CheckConstraint("role IN ('viewer', 'operator')", name=op.f('ck_operators_role')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_operators')),
        sa.UniqueConstraint('name', name=op.f('uq_operators_name')),
    )
    op.create_table(
        'audit_log',
        sa.Column('id', ID, nullable=False),
        sa.Column('at', WHEN, nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('object_type', sa.String(length=32), nullable=False),
        sa.Column('object_id', sa.String(length=64), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('detail', sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    )
    op.create_index(op.f('ix_audit_log_at'), 'audit_log', ['at'], unique=False)
    op.create_index(op.f('ix_audit_log_actor'), 'audit_log', ['actor'], unique=False)
    op.create_table(
        'reconciliation_runs',
        sa.Column('id', ID, nullable=False),
        sa.Column('bank_code', sa.String(length=32), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('ran_at', WHEN, nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('statement_lines', sa.Integer(), nullable=False),
        sa.Column('mismatch_count', sa.Integer(), nullable=False),
        sa.Column('mismatches', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliation_runs')),
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('frozen_at', WHEN, nullable=True))
        batch_op.add_column(sa.Column('frozen_reason', sa.String(length=300), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('frozen_reason')
        batch_op.drop_column('frozen_at')
    op.drop_table('reconciliation_runs')
    op.drop_index(op.f('ix_audit_log_actor'), table_name='audit_log')
    op.drop_index(op.f('ix_audit_log_at'), table_name='audit_log')
    op.drop_table('audit_log')  # (its SQLite triggers go with it)
    op.drop_table('operators')
