"""passkeys: users' WebAuthn credentials, and their ceremonies' one-use challenges

Revision ID: a1b7c0de3005
Revises: a1b7c0de2904
Create Date: 2026-12-12 15:00:00

``passkeys`` keeps each credential's id (unique), public key, signature
counter, transports, the user handle and the user's name for it;
``passkey_challenges`` the SHA-256 of each challenge handed out, deleted
when used (wallet.identity.passkeys). Purposes are frozen here as literals.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = 'a1b7c0de3005'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de2904'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WHEN = sa.DateTime(timezone=True)
#: (table, column) -> the words allowed, frozen as of this migration.
FROZEN = {
    ('passkey_challenges', 'purpose'): ('register', 'sign_in'),
}


def _check(column: str, words: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{word}'" for word in words) + ")"


def upgrade() -> None:
    op.create_table(
        'passkeys',
        sa.Column('id', ID, nullable=False),
        sa.Column('user_id', ID, nullable=False),
        sa.Column('credential_id', sa.LargeBinary(length=1023), nullable=False),
        sa.Column('public_key', sa.LargeBinary(length=2048), nullable=False),
        sa.Column('sign_count', sa.BigInteger(), nullable=False),
        sa.Column('transports', sa.String(length=100), nullable=False),
        sa.Column('user_handle', sa.LargeBinary(length=64), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.Column('last_used_at', WHEN, nullable=True),
        sa.CheckConstraint('sign_count >= 0', name=op.f('ck_passkeys_sign_count')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_passkeys_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_passkeys')),
        sa.UniqueConstraint('credential_id', name=op.f('uq_passkeys_credential_id')),
    )
    op.create_index(op.f('ix_passkeys_user_id'), 'passkeys', ['user_id'], unique=False)
    op.create_table(
        'passkey_challenges',
        sa.Column('id', ID, nullable=False),
        sa.Column('challenge_sha256', sa.String(length=64), nullable=False),
        sa.Column('purpose', sa.String(length=16), nullable=False),
        sa.Column('user_id', ID, nullable=True),
        sa.Column('user_handle', sa.LargeBinary(length=64), nullable=True),
        sa.Column('created_at', WHEN, nullable=False),
        sa.Column('expires_at', WHEN, nullable=False),
        sa.CheckConstraint(_check('purpose', FROZEN['passkey_challenges', 'purpose']),
                           name=op.f('ck_passkey_challenges_purpose')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_passkey_challenges_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_passkey_challenges')),
        sa.UniqueConstraint('challenge_sha256',
                            name=op.f('uq_passkey_challenges_challenge_sha256')),
    )
    op.create_index(op.f('ix_passkey_challenges_user_id'), 'passkey_challenges', ['user_id'],
                    unique=False)
    op.create_index(op.f('ix_passkey_challenges_expires_at'), 'passkey_challenges',
                    ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_passkey_challenges_expires_at'), table_name='passkey_challenges')
    op.drop_index(op.f('ix_passkey_challenges_user_id'), table_name='passkey_challenges')
    op.drop_table('passkey_challenges')
    op.drop_index(op.f('ix_passkeys_user_id'), table_name='passkeys')
    op.drop_table('passkeys')
