"""test mode: sk_test_ keys and test objects (livemode false) beside live ones

Revision ID: a1b7c0de2907
Revises: a1b7c0de2906
Create Date: 2026-12-12 12:00:00

``livemode`` (every row already there is live) on merchant_api_keys,
payment_requests, mandates, refunds and merchant_events
(wallet.merchants.modes). A test payment request paid at the test checkout
keeps a simulated payment id (``test_payment_id``) and never a transaction; a
test refund names its payment request and has no transactions (so its two
transaction columns become nullable). Two CHECKs keep test rows away from
money: a live request has no simulated payment and a test one no
transaction; a live refund has both its transactions, a test one neither.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = 'a1b7c0de2907'
down_revision: Union[str, Sequence[str], None] = 'a1b7c0de2906'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
PLAIN = ('merchant_api_keys', 'mandates', 'merchant_events')
REQUEST_CHECK = ("(livemode AND test_payment_id IS NULL) "
                 "OR (NOT livemode AND transaction_id IS NULL)")
REFUND_CHECK = ("(livemode AND transaction_id IS NOT NULL "
                "AND payment_transaction_id IS NOT NULL) "
                "OR (NOT livemode AND transaction_id IS NULL "
                "AND payment_transaction_id IS NULL AND payment_request_id IS NOT NULL)")


def _livemode() -> sa.Column[bool]:
    return sa.Column('livemode', sa.Boolean(), server_default=sa.true(), nullable=False)


def upgrade() -> None:
    for table in PLAIN:
        with op.batch_alter_table(table) as batch:
            batch.add_column(_livemode())
    with op.batch_alter_table('payment_requests') as batch:
        batch.add_column(_livemode())
        batch.add_column(sa.Column('test_payment_id', sa.String(length=40), nullable=True))
        batch.create_check_constraint(op.f('ck_payment_requests_mode_payment'), REQUEST_CHECK)
    with op.batch_alter_table('refunds') as batch:
        batch.add_column(_livemode())
        batch.add_column(sa.Column('payment_request_id', ID, nullable=True))
        batch.alter_column('payment_transaction_id', existing_type=ID, nullable=True)
        batch.alter_column('transaction_id', existing_type=ID, nullable=True)
        batch.create_foreign_key(op.f('fk_refunds_payment_request_id_payment_requests'),
                                 'payment_requests', ['payment_request_id'], ['id'])
        batch.create_index(op.f('ix_refunds_payment_request_id'), ['payment_request_id'],
                           unique=False)
        batch.create_check_constraint(op.f('ck_refunds_mode_money'), REFUND_CHECK)


def downgrade() -> None:
    # Test rows have no place in the schema before test mode.
    op.execute("DELETE FROM refunds WHERE NOT livemode")
    test_deliveries = ("SELECT id FROM merchant_deliveries WHERE event_id IN "
                       "(SELECT id FROM merchant_events WHERE NOT livemode)")
    op.execute(f"DELETE FROM merchant_delivery_attempts WHERE delivery_id IN ({test_deliveries})")
    op.execute("DELETE FROM merchant_deliveries WHERE event_id IN "
               "(SELECT id FROM merchant_events WHERE NOT livemode)")
    op.execute("DELETE FROM merchant_events WHERE NOT livemode")
    op.execute("DELETE FROM mandate_debits WHERE mandate_id IN "
               "(SELECT id FROM mandates WHERE NOT livemode)")
    op.execute("DELETE FROM mandates WHERE NOT livemode")
    op.execute("DELETE FROM payment_requests WHERE NOT livemode")
    op.execute("DELETE FROM merchant_api_keys WHERE NOT livemode")
    with op.batch_alter_table('refunds') as batch:
        batch.drop_constraint(op.f('ck_refunds_mode_money'), type_='check')
        batch.drop_index(op.f('ix_refunds_payment_request_id'))
        batch.drop_constraint(op.f('fk_refunds_payment_request_id_payment_requests'),
                              type_='foreignkey')
        batch.alter_column('transaction_id', existing_type=ID, nullable=False)
        batch.alter_column('payment_transaction_id', existing_type=ID, nullable=False)
        batch.drop_column('payment_request_id')
        batch.drop_column('livemode')
    with op.batch_alter_table('payment_requests') as batch:
        batch.drop_constraint(op.f('ck_payment_requests_mode_payment'), type_='check')
        batch.drop_column('test_payment_id')
        batch.drop_column('livemode')
    for table in reversed(PLAIN):
        with op.batch_alter_table(table) as batch:
            batch.drop_column('livemode')
