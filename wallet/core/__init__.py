"""The shared kernel: names and keys, errors, settings parsing, the parties (users, shops) and
their transactions, notifications, idempotency, the after-commit task interface and the observer
hooks."""
