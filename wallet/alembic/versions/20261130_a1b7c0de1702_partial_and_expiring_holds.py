"""ledger holds: partial commits (committed_paise) and expiry (expires_at, status 'expired')

Revision ID: a1b7c0de1702
Revises: a1b7c0de1701
Create Date: 2026-11-30 02:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = 'a1b7c0de1702'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de1701'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# Frozen DDL, as ledgerlib's schema had it when this migration was written.
STATUS_OLD = "status IN ('pending', 'committed', 'released')"
STATUS_NEW = "status IN ('pending', 'committed', 'released', 'expired')"
PARTIAL_COMMIT = ("committed_paise IS NULL OR (status = 'committed' AND committed_paise > 0 "
                  "AND committed_paise < amount_paise)")
EXPIRED_HAS_TIME = "status <> 'expired' OR expires_at IS NOT NULL"
# SQLite's batch mode rebuilds the table, which drops its trigger: put it back.
SQLITE_RESOLVE_ONCE = """CREATE TRIGGER ledger_holds_resolve_once BEFORE UPDATE ON ledger_holds
       WHEN OLD.status <> 'pending'
       BEGIN SELECT RAISE(ABORT, 'ledger hold already resolved'); END"""


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def upgrade() -> None:
    if _sqlite():
        op.execute("DROP TRIGGER IF EXISTS ledger_holds_resolve_once")
    with op.batch_alter_table('ledger_holds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('committed_paise', sa.BigInteger(), nullable=True))
        batch_op.drop_constraint(op.f('ck_ledger_holds_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_ledger_holds_status'), STATUS_NEW)
        batch_op.create_check_constraint(op.f('ck_ledger_holds_partial_commit'), PARTIAL_COMMIT)
        batch_op.create_check_constraint(op.f('ck_ledger_holds_expired_has_time'), EXPIRED_HAS_TIME)
        batch_op.create_index('ix_ledger_holds_status_expires_at', ['status', 'expires_at'],
                              unique=False)
    if _sqlite():
        op.execute(SQLITE_RESOLVE_ONCE)


def downgrade() -> None:
    # Expired holds were released holds before this revision.
    op.execute("ALTER TABLE ledger_holds DISABLE TRIGGER ledger_holds_resolve_once"
               if not _sqlite() else "DROP TRIGGER IF EXISTS ledger_holds_resolve_once")
    op.execute("UPDATE ledger_holds SET status = 'released' WHERE status = 'expired'")
    with op.batch_alter_table('ledger_holds', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_holds_status_expires_at')
        batch_op.drop_constraint(op.f('ck_ledger_holds_expired_has_time'), type_='check')
        batch_op.drop_constraint(op.f('ck_ledger_holds_partial_commit'), type_='check')
        batch_op.drop_constraint(op.f('ck_ledger_holds_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_ledger_holds_status'), STATUS_OLD)
        batch_op.drop_column('committed_paise')
        batch_op.drop_column('expires_at')
    if _sqlite():
        op.execute(SQLITE_RESOLVE_ONCE)
    else:
        op.execute("ALTER TABLE ledger_holds ENABLE TRIGGER ledger_holds_resolve_once")
