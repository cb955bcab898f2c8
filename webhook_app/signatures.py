"""The standard contract's signature check, where it used to live: it is the
domain's now (wallet.bank_protocols.standard; the rules every protocol shares
are in wallet.bank_protocols.rules)."""
from wallet.bank_protocols.rules import SignatureError
from wallet.bank_protocols.standard import expected_signature, verify

__all__ = ["SignatureError", "expected_signature", "verify"]
