"""What operators see and do: operators, the audit log, oversight, reconciliation, ledger checks,
queue figures."""
