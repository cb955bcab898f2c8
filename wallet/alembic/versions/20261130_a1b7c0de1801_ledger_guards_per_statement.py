"""ledger guards per statement: postings checked once per INSERT statement, without foreign keys

Revision ID: a1b7c0de1801
Revises: a1b7c0de1702
Create Date: 2026-11-30 06:30:00

The per-row deferred balance triggers (one per entry, one per posting, run at
COMMIT) and the postings' two FOREIGN KEYs (a referential trigger per posting
and key) made up most of the cost of writing a batch. In their place
(PostgreSQL): one trigger per INSERT statement on ledger_postings that checks,
for all its rows at once, that each posting's entry and account exist and that
every entry it touched balances per currency; one per INSERT statement on
ledger_entries that checks each new entry has postings (ledgerlib writes an
entry and its postings in one statement); and a guard that refuses deleting an
account that has postings, or changing its id, as the foreign key did. SQLite
gets the references and those guards as row triggers -- which name other
tables: a later migration that rebuilds ledger_accounts, ledger_entries or
ledger_postings in batch mode must drop them first and create them again.
"""
from typing import Sequence, Union

from alembic import op

revision: str = 'a1b7c0de1801'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de1702'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

FK_ENTRY = 'fk_ledger_postings_entry_id_ledger_entries'
FK_ACCOUNT = 'fk_ledger_postings_account_id_ledger_accounts'

# Frozen DDL, as ledgerlib's guard_ddl() had it when this migration was written.
NEW_POSTGRES = (
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
)
NEW_SQLITE = (
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
)
# The guards this replaces, frozen as the initial migration installed them.
OLD_POSTGRES = (
    """CREATE OR REPLACE FUNCTION ledger_check_entry_balanced() RETURNS trigger AS $$
       DECLARE
         n_postings integer;
         n_unbalanced integer;
       BEGIN
         SELECT count(*) INTO n_postings FROM ledger_postings WHERE entry_id = NEW.id;
         SELECT count(*) INTO n_unbalanced FROM (
           SELECT currency FROM ledger_postings WHERE entry_id = NEW.id
           GROUP BY currency HAVING sum(amount_paise) <> 0) AS u;
         IF n_postings < 2 OR n_unbalanced > 0 THEN
           RAISE EXCEPTION 'ledger entry % does not balance', NEW.id;
         END IF;
         RETURN NULL;
       END $$ LANGUAGE plpgsql""",
    """CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
       DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
       EXECUTE FUNCTION ledger_check_entry_balanced()""",
    """CREATE OR REPLACE FUNCTION ledger_check_posting_balanced() RETURNS trigger AS $$
       BEGIN
         IF EXISTS (SELECT 1 FROM ledger_postings WHERE entry_id = NEW.entry_id
                    GROUP BY currency HAVING sum(amount_paise) <> 0) THEN
           RAISE EXCEPTION 'ledger entry % does not balance', NEW.entry_id;
         END IF;
         RETURN NULL;
       END $$ LANGUAGE plpgsql""",
    """CREATE CONSTRAINT TRIGGER ledger_postings_balanced AFTER INSERT ON ledger_postings
       DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
       EXECUTE FUNCTION ledger_check_posting_balanced()""",
)
# SQLite's batch mode rebuilds ledger_postings, which drops its triggers.
SQLITE_POSTING_GUARDS = (
    """CREATE TRIGGER ledger_postings_immutable BEFORE UPDATE ON ledger_postings
       BEGIN SELECT RAISE(ABORT, 'ledger postings are immutable'); END""",
    """CREATE TRIGGER ledger_postings_no_delete BEFORE DELETE ON ledger_postings
       BEGIN SELECT RAISE(ABORT, 'ledger postings are immutable'); END""",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER ledger_entries_balanced ON ledger_entries')
        op.execute('DROP TRIGGER ledger_postings_balanced ON ledger_postings')
        op.execute('DROP FUNCTION ledger_check_entry_balanced()')
        op.execute('DROP FUNCTION ledger_check_posting_balanced()')
        op.drop_constraint(FK_ENTRY, 'ledger_postings', type_='foreignkey')
        op.drop_constraint(FK_ACCOUNT, 'ledger_postings', type_='foreignkey')
        for statement in NEW_POSTGRES:
            op.execute(statement)
        return
    _drop_sqlite_posting_guards()
    with op.batch_alter_table('ledger_postings', schema=None) as batch_op:
        batch_op.drop_constraint(FK_ENTRY, type_='foreignkey')
        batch_op.drop_constraint(FK_ACCOUNT, type_='foreignkey')
    for statement in SQLITE_POSTING_GUARDS + NEW_SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER ledger_postings_checked ON ledger_postings')
        op.execute('DROP TRIGGER ledger_entries_checked ON ledger_entries')
        op.execute('DROP TRIGGER ledger_accounts_keep_if_posted ON ledger_accounts')
        op.execute('DROP FUNCTION ledger_check_new_postings()')
        op.execute('DROP FUNCTION ledger_check_new_entries()')
        op.execute('DROP FUNCTION ledger_account_keep_if_posted()')
        _create_foreign_keys()
        for statement in OLD_POSTGRES:
            op.execute(statement)
        return
    op.execute('DROP TRIGGER ledger_postings_references')
    op.execute('DROP TRIGGER ledger_accounts_keep_if_posted')
    op.execute('DROP TRIGGER ledger_accounts_keep_id_if_posted')
    _drop_sqlite_posting_guards()
    with op.batch_alter_table('ledger_postings', schema=None) as batch_op:
        batch_op.create_foreign_key(FK_ENTRY, 'ledger_entries', ['entry_id'], ['id'])
        batch_op.create_foreign_key(FK_ACCOUNT, 'ledger_accounts', ['account_id'], ['id'])
    for statement in SQLITE_POSTING_GUARDS:
        op.execute(statement)


def _create_foreign_keys() -> None:
    op.create_foreign_key(FK_ENTRY, 'ledger_postings', 'ledger_entries', ['entry_id'], ['id'])
    op.create_foreign_key(FK_ACCOUNT, 'ledger_postings', 'ledger_accounts', ['account_id'],
                          ['id'])


def _drop_sqlite_posting_guards() -> None:
    op.execute('DROP TRIGGER ledger_postings_immutable')
    op.execute('DROP TRIGGER ledger_postings_no_delete')
