"""Who someone is and what proves it: accounts and passwords, web sessions and API tokens, the
wallet and shop PINs, KYC."""
