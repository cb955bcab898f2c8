"""Standalone use of ledgerlib: nothing else from this repository is needed.

Run: python examples/ledger_quickstart.py [SQLALCHEMY_URL]
"""
import sys

from sqlalchemy.orm import Session

import ledgerlib
from ledgerlib import Ledger, format_paise, parse_amount

url = sys.argv[1] if len(sys.argv) > 1 else "sqlite://"  # in-memory by default
engine = ledgerlib.create_engine(url)
ledgerlib.create_all(engine)

with Session(engine) as session, session.begin():  # you own the transaction
    ledger = Ledger(session)
    ledger.open_account("bank:hdfc:settlement", "asset", allow_negative=True)
    ledger.open_account("user:1:wallet", "liability")
    ledger.open_account("user:2:wallet", "liability")

    # A deposit, keyed by the bank's reference: a re-delivered webhook is a no-op.
    for _ in range(2):
        ledger.transfer("bank:hdfc:settlement", "user:1:wallet", parse_amount("500.00"),
                        idempotency_key="onramp:tok_123")
    ledger.transfer("user:1:wallet", "user:2:wallet", parse_amount("120.50"),
                    idempotency_key="transfer:form-1", memo="chai and samosa")

    # A withdrawal in flight: held now, committed when the bank confirms.
    hold = ledger.hold("user:1:wallet", "bank:hdfc:settlement", parse_amount("100"))
    print("user 1 while payout in flight:", ledger.balance("user:1:wallet"))
    ledger.commit_hold(hold.id)

    for code in ("user:1:wallet", "user:2:wallet"):
        print(code, format_paise(ledger.balance(code).available_paise))
    print(ledger.verify().summary())
