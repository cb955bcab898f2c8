"""Tables of the ledger, published as one SQLAlchemy :data:`ledgerlib.metadata`.

Applications include :data:`ledgerlib.metadata` in their alembic ``target_metadata`` and
call :func:`ledgerlib.guard_ddl` from a migration to install the database-level guards
(triggers). Standalone users call :func:`ledgerlib.create_all`.

Sign convention: a posting's ``amount_paise`` is positive for a debit and
negative for a credit, so the postings of every entry sum to zero per currency.
Balances stored on accounts are on the account's *normal side* (a liability
with more credits than debits has a positive balance).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.types import TypeDecorator

#: Stable constraint names, so alembic migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: The ledger's tables (``ledger_accounts``, ``ledger_entries``,
#: ``ledger_postings``, ``ledger_holds``): add it to alembic's ``target_metadata``.
metadata = MetaData(naming_convention=NAMING_CONVENTION)

ACCOUNT_KINDS = ("asset", "liability", "equity", "income", "expense")
DEBIT_NORMAL_KINDS = frozenset({"asset", "expense"})
HOLD_STATUSES = ("pending", "committed", "released", "expired")

# BIGINT ids on PostgreSQL; plain INTEGER on SQLite, where only
# "INTEGER PRIMARY KEY" is an auto-incrementing rowid.
IdType = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in and out, on every backend.

    SQLite has no time zone type: values are stored as naive UTC text, which
    sorts and compares correctly because every value goes through here.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the ledger; pass an aware one")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        moment: dt.datetime = value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=dt.timezone.utc)
        return moment.astimezone(dt.timezone.utc)


accounts = Table(
    "ledger_accounts",
    metadata,
    Column("id", IdType, primary_key=True),
    Column("code", String(128), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("owner_ref", String(128), nullable=True, index=True),
    # allow_negative: no lower bound at all (banks' settlement accounts);
    # otherwise available may go down to -overdraft_limit_paise (0: no overdraft).
    Column("allow_negative", Boolean, nullable=False),
    Column("overdraft_limit_paise", BigInteger, nullable=False, server_default=text("0")),
    # Maintained balances, on the account's normal side. posted moves with
    # entries; held is the sum of this account's pending outgoing holds.
    Column("posted_paise", BigInteger, nullable=False, server_default=text("0")),
    Column("held_paise", BigInteger, nullable=False, server_default=text("0")),
    # Head of the account's hash chain (the hash of its latest posting; '' before
    # the first) and that posting's time: read and moved under the row lock.
    Column("chain_hash", String(64), nullable=False, server_default=""),
    Column("last_posted_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint(
        "kind IN ('asset', 'liability', 'equity', 'income', 'expense')", name="kind"
    ),
    CheckConstraint("held_paise >= 0", name="held_not_negative"),
    CheckConstraint("overdraft_limit_paise >= 0", name="overdraft_limit_not_negative"),
    # The last line of defence for wallets: the database itself refuses a
    # balance row whose available amount is below its overdraft limit.
    CheckConstraint(
        "allow_negative OR posted_paise - held_paise >= -overdraft_limit_paise",
        name="available_within_overdraft",
    ),
)

entries = Table(
    "ledger_entries",
    metadata,
    Column("id", IdType, primary_key=True),
    Column("idempotency_key", String(200), nullable=True, unique=True),
    # sha256 of the movement (accounts and signed amounts): a repeated key
    # must carry the same fingerprint.
    Column("fingerprint", String(64), nullable=False),
    Column("memo", Text, nullable=False, server_default=""),
    Column("metadata", JSON, nullable=False),
    Column("reverses_entry_id", IdType, ForeignKey("ledger_entries.id"), unique=True),
    Column("created_at", UTCDateTime, nullable=False),
)

postings = Table(
    "ledger_postings",
    metadata,
    Column("id", IdType, primary_key=True),
    # References without FOREIGN KEYs: the guards check them once per statement
    # for all its rows (PostgreSQL) or per row (SQLite), rather than a
    # referential trigger per row -- the largest cost of a batch's INSERT.
    Column("entry_id", IdType, nullable=False, index=True),
    Column("account_id", IdType, nullable=False),
    Column("amount_paise", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    # The entry's time, or the account's previous posting's if that is later:
    # each account's postings are in time order, so "balance as of" is the
    # balance_after of one posting found by (account_id, created_at, id).
    Column("created_at", UTCDateTime, nullable=False),
    # The account's posted balance (normal side) right after this posting.
    Column("balance_after", BigInteger, nullable=False),
    # sha256 of the previous posting's hash on the same account and this
    # posting's fields (ledgerlib.chain): a per-account tamper-evident chain.
    Column("hash", String(64), nullable=False),
    CheckConstraint("amount_paise <> 0", name="amount_not_zero"),
    Index("ix_ledger_postings_account_id_id", "account_id", "id"),
    Index("ix_ledger_postings_account_id_created_at_id", "account_id", "created_at", "id"),
)

holds = Table(
    "ledger_holds",
    metadata,
    Column("id", IdType, primary_key=True),
    Column("idempotency_key", String(200), nullable=True, unique=True),
    Column("source_account_id", IdType, ForeignKey("ledger_accounts.id"), nullable=False),
    Column(
        "destination_account_id", IdType, ForeignKey("ledger_accounts.id"), nullable=False
    ),
    Column("amount_paise", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),
    Column("memo", Text, nullable=False, server_default=""),
    Column("metadata", JSON, nullable=False),
    Column("commit_entry_id", IdType, ForeignKey("ledger_entries.id"), unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime, nullable=True),
    # From this instant the hold counts as released: the funds check frees it
    # when the money is needed and expire_holds() marks it 'expired'.
    Column("expires_at", UTCDateTime, nullable=True),
    # A partial commit's amount; NULL when the whole amount was committed.
    Column("committed_paise", BigInteger, nullable=True),
    CheckConstraint("amount_paise > 0", name="amount_positive"),
    CheckConstraint(
        "status IN ('pending', 'committed', 'released', 'expired')", name="status"
    ),
    CheckConstraint(
        "(status = 'committed') = (commit_entry_id IS NOT NULL)", name="commit_has_entry"
    ),
    CheckConstraint(
        "committed_paise IS NULL OR (status = 'committed' AND committed_paise > 0 "
        "AND committed_paise < amount_paise)",
        name="partial_commit",
    ),
    CheckConstraint("status <> 'expired' OR expires_at IS NOT NULL", name="expired_has_time"),
    Index("ix_ledger_holds_source_account_id_status", "source_account_id", "status"),
    Index("ix_ledger_holds_status_expires_at", "status", "expires_at"),
)


_SQLITE_GUARDS = [
    # Journal entries and postings are append-only: corrections are reversals.
    """CREATE TRIGGER ledger_entries_immutable BEFORE UPDATE ON ledger_entries
       BEGIN SELECT RAISE(ABORT, 'ledger entries are immutable'); END""",
    """CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
       BEGIN SELECT RAISE(ABORT, 'ledger entries are immutable'); END""",
    """CREATE TRIGGER ledger_postings_immutable BEFORE UPDATE ON ledger_postings
       BEGIN SELECT RAISE(ABORT, 'ledger postings are immutable'); END""",
    """CREATE TRIGGER ledger_postings_no_delete BEFORE DELETE ON ledger_postings
       BEGIN SELECT RAISE(ABORT, 'ledger postings are immutable'); END""",
    # A hold resolves once.
    """CREATE TRIGGER ledger_holds_resolve_once BEFORE UPDATE ON ledger_holds
       WHEN OLD.status <> 'pending'
       BEGIN SELECT RAISE(ABORT, 'ledger hold already resolved'); END""",
    # The postings' references (they have no FOREIGN KEYs; see ledger_postings).
    # These name other tables: a migration that rebuilds ledger_accounts,
    # ledger_entries or ledger_postings (alembic's batch mode) drops them first
    # and creates them again after, or SQLite refuses the rename.
    """CREATE TRIGGER ledger_postings_references BEFORE INSERT ON ledger_postings
       WHEN NOT EXISTS (SELECT 1 FROM ledger_entries WHERE id = NEW.entry_id)
         OR NOT EXISTS (SELECT 1 FROM ledger_accounts WHERE id = NEW.account_id)
       BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed'); END""",
    """CREATE TRIGGER ledger_accounts_keep_if_posted BEFORE DELETE ON ledger_accounts
       WHEN EXISTS (SELECT 1 FROM ledger_postings WHERE account_id = OLD.id)
       BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed'); END""",
    """CREATE TRIGGER ledger_accounts_keep_id_if_posted BEFORE UPDATE OF id ON ledger_accounts
       WHEN NEW.id <> OLD.id
         AND EXISTS (SELECT 1 FROM ledger_postings WHERE account_id = OLD.id)
       BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed'); END""",
]

_POSTGRES_GUARDS = [
    """CREATE OR REPLACE FUNCTION ledger_reject_change() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION '% rows are immutable', TG_TABLE_NAME; END
       $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER ledger_entries_immutable BEFORE UPDATE OR DELETE ON ledger_entries
       FOR EACH ROW EXECUTE FUNCTION ledger_reject_change()""",
    """CREATE TRIGGER ledger_postings_immutable BEFORE UPDATE OR DELETE ON ledger_postings
       FOR EACH ROW EXECUTE FUNCTION ledger_reject_change()""",
    """CREATE OR REPLACE FUNCTION ledger_hold_resolve_once() RETURNS trigger AS $$
       BEGIN
         IF OLD.status <> 'pending' THEN
           RAISE EXCEPTION 'ledger hold % already resolved', OLD.id;
         END IF;
         RETURN NEW;
       END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER ledger_holds_resolve_once BEFORE UPDATE ON ledger_holds
       FOR EACH ROW EXECUTE FUNCTION ledger_hold_resolve_once()""",
    # Every statement that inserts postings, once, for all its rows: each
    # posting's entry and account exist (the postings have no FOREIGN KEYs:
    # per-row referential triggers were the largest cost of a batch), and every
    # entry it touched balances in each currency over ALL its postings (also
    # one slipped into an old entry). ledgerlib writes an entry and its
    # postings in one statement; at its end they are all in.
    """CREATE OR REPLACE FUNCTION ledger_check_new_postings() RETURNS trigger AS $$
       DECLARE
         missing bigint;
         unbalanced bigint;
       BEGIN
         SELECT n.account_id INTO missing FROM new_postings AS n
         WHERE NOT EXISTS (SELECT FROM ledger_accounts AS a WHERE a.id = n.account_id)
         LIMIT 1;
         IF missing IS NOT NULL THEN
           RAISE EXCEPTION 'ledger posting to account %, which does not exist', missing
             USING ERRCODE = 'foreign_key_violation';
         END IF;
         SELECT n.entry_id INTO missing FROM new_postings AS n
         WHERE NOT EXISTS (SELECT FROM ledger_entries AS e WHERE e.id = n.entry_id)
         LIMIT 1;
         IF missing IS NOT NULL THEN
           RAISE EXCEPTION 'ledger posting of entry %, which does not exist', missing
             USING ERRCODE = 'foreign_key_violation';
         END IF;
         SELECT p.entry_id INTO unbalanced FROM ledger_postings AS p
         WHERE p.entry_id IN (SELECT DISTINCT entry_id FROM new_postings)
         GROUP BY p.entry_id, p.currency HAVING sum(p.amount_paise) <> 0
         LIMIT 1;
         IF unbalanced IS NOT NULL THEN
           RAISE EXCEPTION 'ledger entry % does not balance', unbalanced;
         END IF;
         RETURN NULL;
       END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER ledger_postings_checked AFTER INSERT ON ledger_postings
       REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT
       EXECUTE FUNCTION ledger_check_new_postings()""",
    # Every statement that inserts entries, once, for all its rows: each new
    # entry has postings (their balance is the check above). ledgerlib writes
    # an entry and its postings in one statement, so they are in by its end.
    """CREATE OR REPLACE FUNCTION ledger_check_new_entries() RETURNS trigger AS $$
       DECLARE
         bare bigint;
       BEGIN
         SELECT n.id INTO bare FROM new_entries AS n
         WHERE (SELECT count(*) FROM (SELECT FROM ledger_postings AS p
                                      WHERE p.entry_id = n.id LIMIT 2) AS two) < 2
         LIMIT 1;
         IF bare IS NOT NULL THEN
           RAISE EXCEPTION 'ledger entry % does not balance: fewer than two postings', bare;
         END IF;
         RETURN NULL;
       END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER ledger_entries_checked AFTER INSERT ON ledger_entries
       REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT
       EXECUTE FUNCTION ledger_check_new_entries()""",
    # What the postings' FOREIGN KEY on accounts forbade: deleting an account
    # that has postings, or changing its id. (ledgerlib's posting writers hold
    # the account's row lock, so none can slip a posting in meanwhile; a writer
    # of its own must lock the row too.)
    """CREATE OR REPLACE FUNCTION ledger_account_keep_if_posted() RETURNS trigger AS $$
       BEGIN
         IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
           RETURN NEW;
         END IF;
         IF EXISTS (SELECT FROM ledger_postings WHERE account_id = OLD.id) THEN
           RAISE EXCEPTION 'ledger account % has postings: it cannot be deleted or renumbered',
             OLD.id USING ERRCODE = 'foreign_key_violation';
         END IF;
         IF TG_OP = 'DELETE' THEN
           RETURN OLD;
         END IF;
         RETURN NEW;
       END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER ledger_accounts_keep_if_posted BEFORE DELETE OR UPDATE OF id
       ON ledger_accounts FOR EACH ROW EXECUTE FUNCTION ledger_account_keep_if_posted()""",
]


def guard_ddl(dialect_name: str) -> list[str]:
    """The SQL statements that install the database-level guards for a dialect.

    On PostgreSQL the checks run once per INSERT statement, for all its rows:
    ledgerlib writes an entry and all its postings in one statement.
    """
    if dialect_name == "postgresql":
        return list(_POSTGRES_GUARDS)
    if dialect_name == "sqlite":
        return list(_SQLITE_GUARDS)
    return []


def create_all(bind: Engine | Connection) -> None:
    """Create the ledger's tables and guards (for use without alembic)."""
    if isinstance(bind, Engine):
        with bind.begin() as conn:
            create_all(conn)
        return
    metadata.create_all(bind)
    for statement in guard_ddl(bind.dialect.name):
        bind.execute(text(statement))  # text(): escapes the % of RAISE for the driver
