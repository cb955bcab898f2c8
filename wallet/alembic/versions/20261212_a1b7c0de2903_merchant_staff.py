"""merchant_staff: the people of a shop, their stores and what they did; staff sessions

Revision ID: a1b7c0de2903
Revises: a1b7c0de2908
Create Date: 2026-12-12 12:00:00

Three new tables (wallet.core.models.staff): ``merchant_staff`` (a person
invited by email or phone with a role; a password once they accept),
``merchant_staff_stores`` (a manager's or a cashier's stores) and
``merchant_staff_actions`` (who of the shop did what). A person's sign-in is a
web session of its own kind: ``web_sessions.principal_kind`` allows 'staff'.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = 'a1b7c0de2903'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de2908'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WHEN = sa.DateTime(timezone=True)

#: (table, column) -> the words allowed, frozen as of this migration.
FROZEN = {
    ('merchant_staff', 'role'): ('owner', 'manager', 'cashier'),
    ('merchant_staff', 'status'): ('invited', 'active', 'removed'),
}
KINDS_BEFORE = ('user', 'merchant', 'operator')
KINDS_AFTER = ('user', 'merchant', 'operator', 'staff')


def _check(column: str, words: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{word}'" for word in words) + ")"


def upgrade() -> None:
    op.create_table(
        'merchant_staff',
        sa.Column('id', ID, nullable=False),
        sa.Column('merchant_id', ID, nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=True),
        sa.Column('phone', sa.String(length=16), nullable=True),
        sa.Column('password_hash', sa.String(length=100), nullable=True),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('invite_token_sha256', sa.String(length=64), nullable=True),
        sa.Column('invite_expires_at', WHEN, nullable=True),
        sa.Column('invited_by', ID, nullable=True),
        sa.Column('created_at', WHEN, nullable=False),
        sa.Column('last_sign_in_at', WHEN, nullable=True),
        sa.Column('removed_at', WHEN, nullable=True),
        sa.CheckConstraint(_check('role', FROZEN['merchant_staff', 'role']),
                           name=op.f('ck_merchant_staff_role')),
        sa.CheckConstraint(_check('status', FROZEN['merchant_staff', 'status']),
                           name=op.f('ck_merchant_staff_status')),
        sa.CheckConstraint('email IS NOT NULL OR phone IS NOT NULL',
                           name=op.f('ck_merchant_staff_contact')),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'],
                                name=op.f('fk_merchant_staff_merchant_id_merchants')),
        sa.ForeignKeyConstraint(['invited_by'], ['merchant_staff.id'],
                                name=op.f('fk_merchant_staff_invited_by_merchant_staff')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_merchant_staff')),
        sa.UniqueConstraint('invite_token_sha256',
                            name=op.f('uq_merchant_staff_invite_token_sha256')),
        sa.UniqueConstraint('merchant_id', 'email',
                            name=op.f('uq_merchant_staff_merchant_id_email')),
        sa.UniqueConstraint('merchant_id', 'phone',
                            name=op.f('uq_merchant_staff_merchant_id_phone')),
    )
    op.create_index(op.f('ix_merchant_staff_email'), 'merchant_staff', ['email'], unique=False)
    op.create_index(op.f('ix_merchant_staff_phone'), 'merchant_staff', ['phone'], unique=False)
    op.create_index('ix_merchant_staff_merchant_id_id', 'merchant_staff', ['merchant_id', 'id'],
                    unique=False)
    op.create_table(
        'merchant_staff_stores',
        sa.Column('staff_id', ID, nullable=False),
        sa.Column('store_id', ID, nullable=False),
        sa.ForeignKeyConstraint(['staff_id'], ['merchant_staff.id'],
                                name=op.f('fk_merchant_staff_stores_staff_id_merchant_staff')),
        sa.ForeignKeyConstraint(['store_id'], ['merchant_stores.id'],
                                name=op.f('fk_merchant_staff_stores_store_id_merchant_stores')),
        sa.PrimaryKeyConstraint('staff_id', 'store_id', name=op.f('pk_merchant_staff_stores')),
    )
    op.create_table(
        'merchant_staff_actions',
        sa.Column('id', ID, nullable=False),
        sa.Column('merchant_id', ID, nullable=False),
        sa.Column('staff_id', ID, nullable=True),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('subject', sa.String(length=120), nullable=False),
        sa.Column('detail', sa.String(length=300), nullable=False),
        sa.Column('at', WHEN, nullable=False),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'],
                                name=op.f('fk_merchant_staff_actions_merchant_id_merchants')),
        sa.ForeignKeyConstraint(['staff_id'], ['merchant_staff.id'],
                                name=op.f('fk_merchant_staff_actions_staff_id_merchant_staff')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_merchant_staff_actions')),
    )
    op.create_index('ix_merchant_staff_actions_merchant_id_id', 'merchant_staff_actions',
                    ['merchant_id', 'id'], unique=False)
    _principal_kinds(KINDS_AFTER)


def _principal_kinds(kinds: tuple[str, ...]) -> None:
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_web_sessions_principal_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_web_sessions_principal_kind'),
                                         _check('principal_kind', kinds))


def downgrade() -> None:
    op.execute("DELETE FROM web_sessions WHERE principal_kind = 'staff'")
    _principal_kinds(KINDS_BEFORE)
    op.drop_index('ix_merchant_staff_actions_merchant_id_id',
                  table_name='merchant_staff_actions')
    op.drop_table('merchant_staff_actions')
    op.drop_table('merchant_staff_stores')
    op.drop_index('ix_merchant_staff_merchant_id_id', table_name='merchant_staff')
    op.drop_index(op.f('ix_merchant_staff_phone'), table_name='merchant_staff')
    op.drop_index(op.f('ix_merchant_staff_email'), table_name='merchant_staff')
    op.drop_table('merchant_staff')
