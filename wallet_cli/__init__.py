"""The command-line tools: ``wallet-init-db``, ``wallet-dev`` and
``wallet-admin``. Like the apps, they parse their input and call the domain."""
