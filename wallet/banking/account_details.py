"""A bank account someone saves for money to go to (a user's for withdrawals:
wallet.banking.saved_accounts; a shop's for settlements:
wallet.banking.merchant_bank_accounts): the rules both share, written once.

    read_new_account  a listed bank, the account number typed twice alike,
                      an IFSC of that bank (wallet.banking.banks.payee_problems);
                      every field's problem at once
    refuse_if_full    at most ``max_accounts`` live ones at a time
"""
from __future__ import annotations

from collections.abc import Mapping

from ..core.errors import WalletError
from .banks import BankConfig, clean_payee, payee_problems

__all__ = ["read_new_account", "refuse_if_full"]


def read_new_account(banks: Mapping[str, BankConfig], bank_code: str, account_number: str,
                     repeat: str, ifsc: str) -> tuple[str, str]:
    """The account number and IFSC as stored, once every field is right
    (else one WalletError with every field's problem: ``repeat`` for the
    second copy of the number). No query."""
    problems = payee_problems(banks, bank_code, account_number, ifsc)
    account_number, ifsc = clean_payee(account_number, ifsc)
    if "account_number" not in problems and clean_payee(repeat, "")[0] != account_number:
        problems["repeat"] = "The two account numbers differ: type the same one twice."
    if problems:
        raise WalletError.of_fields(problems)
    return account_number, ifsc


def refuse_if_full(live: int, max_accounts: int, whose: str) -> None:
    """Refuse one more account beyond ``max_accounts`` live ones (``whose``:
    "a shop", "you")."""
    if live >= max_accounts:
        raise WalletError(f"You have {live} bank accounts, the most {whose} may have: "
                          "remove one first.", "form")
