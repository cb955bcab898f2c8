"""ledgerlib 2: running balance and chained hash per posting, overdraft limit per account

Revision ID: a1b7c0de1701
Revises: a1b7c0de1502
Create Date: 2026-11-30 02:00:00

Existing postings are backfilled in account order: running balance, time order
(a posting stamped earlier than the account's previous one takes that one's
time) and the hash chain, with the account rows' chain heads -- so
``ledgerlib.verify`` stays clean on an upgraded database.
"""
import datetime as dt
import hashlib
from typing import Any, Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = 'a1b7c0de1701'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de1502'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

IdType = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
DEBIT_NORMAL = ('asset', 'expense')
OLD_CHECK = 'allow_negative OR posted_paise - held_paise >= 0'
NEW_CHECK = 'allow_negative OR posted_paise - held_paise >= -overdraft_limit_paise'
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)

# The postings' immutability guards, frozen as the initial migration installed them.
SQLITE_POSTING_GUARDS = [
    """CREATE TRIGGER ledger_postings_immutable BEFORE UPDATE ON ledger_postings
       BEGIN SELECT RAISE(ABORT, 'ledger postings are immutable'); END""",
    """CREATE TRIGGER ledger_postings_no_delete BEFORE DELETE ON ledger_postings
       BEGIN SELECT RAISE(ABORT, 'ledger postings are immutable'); END""",
]

accounts = sa.table(
    'ledger_accounts', sa.column('id', IdType), sa.column('kind', sa.String()),
    sa.column('chain_hash', sa.String()),
    sa.column('last_posted_at', sa.DateTime(timezone=True)))
postings = sa.table(
    'ledger_postings', sa.column('id', IdType), sa.column('entry_id', IdType),
    sa.column('account_id', IdType), sa.column('amount_paise', sa.BigInteger()),
    sa.column('currency', sa.String()), sa.column('created_at', sa.DateTime(timezone=True)),
    sa.column('balance_after', sa.BigInteger()), sa.column('hash', sa.String()))


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None else moment


def _stored(moment: dt.datetime, dialect: str) -> dt.datetime:
    """As the ledger stores times: naive UTC on SQLite, aware elsewhere."""
    utc = moment.astimezone(dt.timezone.utc)
    return utc.replace(tzinfo=None) if dialect == 'sqlite' else utc


def _hash(previous: str, row: Any, balance_after: int, at: dt.datetime) -> str:
    # Frozen copy of ledgerlib.chain.posting_hash as of this revision.
    micros = (at - EPOCH) // dt.timedelta(microseconds=1)
    text = (f"{previous}|{row.entry_id}|{row.account_id}|{row.amount_paise}|"
            f"{row.currency}|{balance_after}|{micros}")
    return hashlib.sha256(text.encode()).hexdigest()


def _backfill(conn: sa.Connection) -> None:
    dialect = conn.dialect.name
    signs = {acc.id: 1 if acc.kind in DEBIT_NORMAL else -1
             for acc in conn.execute(sa.select(accounts.c.id, accounts.c.kind))}
    heads: dict[int, tuple[int, str, dt.datetime]] = {}
    updates = []
    for row in conn.execute(
            sa.select(postings).order_by(postings.c.account_id, postings.c.id)).all():
        balance, previous, last_at = heads.get(row.account_id, (0, '', None))
        at = _aware(row.created_at)
        if last_at is not None and at < last_at:
            at = last_at
        balance += signs[row.account_id] * row.amount_paise
        digest = _hash(previous, row, balance, at)
        heads[row.account_id] = (balance, digest, at)
        updates.append({'pid': row.id, 'balance': balance, 'digest': digest,
                        'at': _stored(at, dialect)})
    if updates:
        conn.execute(
            postings.update().where(postings.c.id == sa.bindparam('pid')).values(
                balance_after=sa.bindparam('balance'), hash=sa.bindparam('digest'),
                created_at=sa.bindparam('at')),
            updates)
    if heads:
        conn.execute(
            accounts.update().where(accounts.c.id == sa.bindparam('aid')).values(
                chain_hash=sa.bindparam('digest'), last_posted_at=sa.bindparam('at')),
            [{'aid': account_id, 'digest': digest, 'at': _stored(at, dialect)}
             for account_id, (_, digest, at) in heads.items()])


def upgrade() -> None:
    conn = op.get_bind()
    with op.batch_alter_table('ledger_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('overdraft_limit_paise', sa.BigInteger(),
                                      server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('chain_hash', sa.String(length=64), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('last_posted_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.drop_constraint(op.f('ck_ledger_accounts_available_not_negative'),
                                 type_='check')
        batch_op.create_check_constraint(
            op.f('ck_ledger_accounts_overdraft_limit_not_negative'),
            'overdraft_limit_paise >= 0')
        batch_op.create_check_constraint(
            op.f('ck_ledger_accounts_available_within_overdraft'), NEW_CHECK)
    with op.batch_alter_table('ledger_postings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('balance_after', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
    # Postings are immutable: lift the guard for the backfill only.
    if conn.dialect.name == 'postgresql':
        op.execute('ALTER TABLE ledger_postings DISABLE TRIGGER ledger_postings_immutable')
    else:
        op.execute('DROP TRIGGER ledger_postings_immutable')
        op.execute('DROP TRIGGER ledger_postings_no_delete')
    _backfill(conn)
    with op.batch_alter_table('ledger_postings', schema=None) as batch_op:
        batch_op.alter_column('balance_after', existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_index('ix_ledger_postings_account_id_created_at')
        batch_op.create_index('ix_ledger_postings_account_id_created_at_id',
                              ['account_id', 'created_at', 'id'], unique=False)
    if conn.dialect.name == 'postgresql':
        op.execute('ALTER TABLE ledger_postings ENABLE TRIGGER ledger_postings_immutable')
    else:
        for statement in SQLITE_POSTING_GUARDS:
            op.execute(statement)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == 'sqlite':
        op.execute('DROP TRIGGER ledger_postings_immutable')
        op.execute('DROP TRIGGER ledger_postings_no_delete')
    with op.batch_alter_table('ledger_postings', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_postings_account_id_created_at_id')
        batch_op.create_index('ix_ledger_postings_account_id_created_at',
                              ['account_id', 'created_at'], unique=False)
        batch_op.drop_column('hash')
        batch_op.drop_column('balance_after')
    if conn.dialect.name == 'sqlite':
        for statement in SQLITE_POSTING_GUARDS:
            op.execute(statement)
    # Accounts using an overdraft can not go back to "never below zero".
    with op.batch_alter_table('ledger_accounts', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_ledger_accounts_available_within_overdraft'),
                                 type_='check')
        batch_op.drop_constraint(op.f('ck_ledger_accounts_overdraft_limit_not_negative'),
                                 type_='check')
        batch_op.create_check_constraint(
            op.f('ck_ledger_accounts_available_not_negative'), OLD_CHECK)
        batch_op.drop_column('last_posted_at')
        batch_op.drop_column('chain_hash')
        batch_op.drop_column('overdraft_limit_paise')
