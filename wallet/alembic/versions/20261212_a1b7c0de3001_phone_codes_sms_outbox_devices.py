"""otp_codes, sms_outbox, known_devices: phones verified by a one-time code

Revision ID: a1b7c0de3001
Revises: a1b7c0de3003
Create Date: 2026-12-12 12:00:00

One-time codes sent by SMS (wallet.identity.phone_codes): a sign-up, a
forgotten password or PIN; only an HMAC of each code is kept, their purposes
and statuses frozen here. The development gateway's outbox of SMS
(wallet.identity.sms). The browsers each user signed in from
(wallet.identity.devices: the SHA-256 of a device cookie's random id).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = 'a1b7c0de3001'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de3003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WHEN = sa.DateTime(timezone=True)
#: (table, column) -> the words allowed, frozen as of this migration.
FROZEN = {
    ('otp_codes', 'purpose'): ('signup', 'password_reset', 'pin_reset'),
    ('otp_codes', 'status'): ('pending', 'used', 'dead'),
}


def _check(column: str, words: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{word}'" for word in words) + ")"


def upgrade() -> None:
    op.create_table(
        'otp_codes',
        sa.Column('id', ID, nullable=False),
        sa.Column('token', sa.String(length=48), nullable=False),
        sa.Column('purpose', sa.String(length=16), nullable=False),
        sa.Column('phone', sa.String(length=16), nullable=False),
        sa.Column('user_id', ID, nullable=True),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('failed_tries', sa.Integer(), nullable=False),
        sa.Column('sends', sa.Integer(), nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.Column('sent_at', WHEN, nullable=False),
        sa.Column('expires_at', WHEN, nullable=False),
        sa.Column('used_at', WHEN, nullable=True),
        sa.Column('signup_name', sa.String(length=80), nullable=True),
        sa.Column('signup_password_hash', sa.String(length=100), nullable=True),
        sa.CheckConstraint(_check('purpose', FROZEN['otp_codes', 'purpose']),
                           name=op.f('ck_otp_codes_purpose')),
        sa.CheckConstraint(_check('status', FROZEN['otp_codes', 'status']),
                           name=op.f('ck_otp_codes_status')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_otp_codes_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_otp_codes')),
        sa.UniqueConstraint('token', name=op.f('uq_otp_codes_token')),
    )
    op.create_index('ix_otp_codes_phone_sent_at', 'otp_codes', ['phone', 'sent_at'],
                    unique=False)
    op.create_table(
        'sms_outbox',
        sa.Column('id', ID, nullable=False),
        sa.Column('phone', sa.String(length=16), nullable=False),
        sa.Column('text', sa.String(length=480), nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_outbox')),
    )
    op.create_index(op.f('ix_sms_outbox_phone'), 'sms_outbox', ['phone'], unique=False)
    op.create_table(
        'known_devices',
        sa.Column('id', ID, nullable=False),
        sa.Column('user_id', ID, nullable=False),
        sa.Column('device_sha256', sa.String(length=64), nullable=False),
        sa.Column('user_agent', sa.String(length=200), nullable=False),
        sa.Column('first_seen_at', WHEN, nullable=False),
        sa.Column('last_seen_at', WHEN, nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_known_devices_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_known_devices')),
        sa.UniqueConstraint('user_id', 'device_sha256', name=op.f('uq_known_devices_user_id')),
    )


def downgrade() -> None:
    op.drop_table('known_devices')
    op.drop_index(op.f('ix_sms_outbox_phone'), table_name='sms_outbox')
    op.drop_table('sms_outbox')
    op.drop_index('ix_otp_codes_phone_sent_at', table_name='otp_codes')
    op.drop_table('otp_codes')
