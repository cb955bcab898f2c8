"""The standard contract's signature check, where it used to live: it is the
domain's now (wallet.banking.protocols.standard; the rules every protocol shares
are in wallet.banking.protocols.rules)."""
from wallet.banking.protocols.rules import SignatureError
from wallet.banking.protocols.standard import expected_signature, verify

__all__ = ["SignatureError", "expected_signature", "verify"]
