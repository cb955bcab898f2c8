"""kyc_records: the PAN sealed (AES-256-GCM, key id, keyed fingerprint unique, last 4)

Revision ID: a1b7c0de2307
Revises: a1b7c0de2302
Create Date: 2026-12-01 09:00:00

The PAN was kept in clear, and nothing stopped one PAN from completing the
KYC of many wallets. The new columns hold it encrypted (``pan_ciphertext``
under the key ``pan_key_id``), its HMAC-SHA-256 fingerprint (unique) and its
last four characters; the clear column is dropped.

Rows already there are sealed here, with the keys of the settings alembic
runs with: ``wallet.pan_keys``, ``wallet.pan_key_id``, ``wallet.pan_hmac_key``
(from the ini's [DEFAULT], or the environment for production.ini:
wallet/alembic/env.py hands the settings in; docs/deploy.md). Without keys,
only a table with no rows can be migrated. Two wallets with one PAN stop the
migration (which one keeps its full KYC is for a person to decide:
docs/deploy.md gives the query).

The sealing below is frozen: the format wallet.pan_vault had when this was
written (a nonce of 12 bytes, then the ciphertext and tag; the AES key derived
by HKDF-SHA-256 from the secret, info ``wallet kyc_records.pan aes-256-gcm``;
the row's ``kyc_records.pan:<user id>`` as associated data).
"""
import hashlib
import hmac
import os
from typing import Any, Mapping, Sequence, Union

import sqlalchemy as sa
from alembic import context, op
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

revision: str = 'a1b7c0de2307'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de2302'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

UNIQUE = 'ix_kyc_records_pan_fingerprint'
AEAD_KEY_INFO = b'wallet kyc_records.pan aes-256-gcm'


class _Keys:
    """The settings' key ring, as this migration reads it."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        pairs = [pair.partition(':') for pair in str(settings.get('wallet.pan_keys') or '').split()]
        self.secrets = {key_id: secret for key_id, _, secret in pairs if key_id and secret}
        self.current_id = str(settings.get('wallet.pan_key_id') or '').strip()
        self.hmac_key = str(settings.get('wallet.pan_hmac_key') or '').strip().encode()
        if self.current_id not in self.secrets or not self.hmac_key:
            raise RuntimeError(
                'kyc_records holds PANs to encrypt: run the migration with the settings '
                'wallet.pan_keys, wallet.pan_key_id and wallet.pan_hmac_key (the ini\'s '
                '[DEFAULT], or for production.ini the environment variables WALLET_PAN_KEYS, '
                'WALLET_PAN_KEY_ID, WALLET_PAN_HMAC_KEY; docs/deploy.md)')

    def aead(self, key_id: str) -> AESGCM:
        if key_id not in self.secrets:
            raise RuntimeError(f'no key {key_id!r} in wallet.pan_keys')
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=AEAD_KEY_INFO).derive(self.secrets[key_id].encode())
        return AESGCM(key)


def _keys() -> _Keys:
    return _Keys(context.config.attributes.get('settings') or {})


def _aad(user_id: int) -> bytes:
    return f'kyc_records.pan:{user_id}'.encode()


def upgrade() -> None:
    with op.batch_alter_table('kyc_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pan_ciphertext', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('pan_key_id', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('pan_fingerprint', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('pan_last4', sa.String(length=4), nullable=True))
    _seal_rows()
    with op.batch_alter_table('kyc_records', schema=None) as batch_op:
        for name in ('pan_ciphertext', 'pan_key_id', 'pan_fingerprint', 'pan_last4'):
            batch_op.alter_column(name, nullable=False)
        batch_op.create_index(UNIQUE, ['pan_fingerprint'], unique=True)
        batch_op.drop_column('pan')


def _seal_rows() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text('SELECT user_id, pan FROM kyc_records ORDER BY user_id')).all()
    if not rows:
        return
    shared: dict[str, list[int]] = {}
    for user_id, pan in rows:
        shared.setdefault(pan, []).append(user_id)
    twice = sorted(users for users in shared.values() if len(users) > 1)
    if twice:
        raise RuntimeError(
            f'{len(twice)} PAN(s) completed the KYC of more than one wallet (users '
            f'{twice[:10]}): leave one full-KYC wallet per PAN, then migrate '
            '(docs/deploy.md, "One PAN per wallet")')
    keys = _keys()
    aead = keys.aead(keys.current_id)
    update = sa.text('UPDATE kyc_records SET pan_ciphertext = :ciphertext, pan_key_id = :key_id, '
                     'pan_fingerprint = :fingerprint, pan_last4 = :last4 WHERE user_id = :user_id')
    for user_id, pan in rows:
        nonce = os.urandom(12)
        conn.execute(update, {
            'ciphertext': nonce + aead.encrypt(nonce, pan.encode(), _aad(user_id)),
            'key_id': keys.current_id,
            'fingerprint': hmac.new(keys.hmac_key, pan.encode(), hashlib.sha256).hexdigest(),
            'last4': pan[-4:], 'user_id': user_id})


def downgrade() -> None:
    with op.batch_alter_table('kyc_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pan', sa.String(length=10), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        'SELECT user_id, pan_key_id, pan_ciphertext FROM kyc_records')).all()
    if rows:
        keys = _keys()
        update = sa.text('UPDATE kyc_records SET pan = :pan WHERE user_id = :user_id')
        for user_id, key_id, sealed in rows:
            sealed = bytes(sealed)
            pan = keys.aead(key_id).decrypt(sealed[:12], sealed[12:], _aad(user_id)).decode()
            conn.execute(update, {'pan': pan, 'user_id': user_id})
    with op.batch_alter_table('kyc_records', schema=None) as batch_op:
        batch_op.alter_column('pan', nullable=False)
        batch_op.drop_index(UNIQUE)
        for name in ('pan_last4', 'pan_fingerprint', 'pan_key_id', 'pan_ciphertext'):
            batch_op.drop_column(name)
