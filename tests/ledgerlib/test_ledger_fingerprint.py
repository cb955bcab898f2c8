"""Texts the ledger writes quickly instead of through json.dumps must equal
it: an entry's fingerprint is sha256 of one exact JSON text (stored
fingerprints are compared with new ones on idempotency replays), and the fast
path's legs are read back as JSON. Also: a transfer's legs built directly are
validate_legs' legs."""
from __future__ import annotations

import hashlib
import json

from hypothesis import given
from hypothesis import strategies as st

import ledgerlib
from ledgerlib import credit, debit
from ledgerlib.validation import fingerprint_of, legs_json, transfer_legs, validate_legs


def by_json(kind: str, legs, extra: str) -> str:
    canonical = json.dumps([kind, sorted(legs), extra], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


codes = st.one_of(st.text(max_size=12), st.sampled_from(
    ["user:1:wallet", 'quo"te', "back\\slash", "tab\there", "del\x7f", "₹", "é", ""]))
amounts = st.integers(min_value=-10**15, max_value=10**15)


@given(st.sampled_from(["entry", "reversal", 'odd"kind']),
       st.lists(st.tuples(codes, amounts), min_size=1, max_size=6),
       st.one_of(st.just(""), st.integers(1, 10**9).map(str), st.text(max_size=5)))
def test_the_fingerprint_is_sha256_of_the_json_text(kind, legs, extra):
    assert fingerprint_of(kind, legs, extra) == by_json(kind, legs, extra)


def test_a_known_fingerprint_stays_the_same():
    legs = [("user:1:wallet", 500), ("bank", -500)]
    assert fingerprint_of("entry", legs) == by_json("entry", legs, "")
    assert fingerprint_of("entry", legs) == hashlib.sha256(
        b'["entry",[["bank",-500],["user:1:wallet",500]],""]').hexdigest()


@given(st.lists(st.tuples(codes, amounts), min_size=1, max_size=6))
def test_the_legs_json_of_the_fast_path_reads_back_as_json_dumps(legs):
    assert json.loads(legs_json(legs)) == json.loads(json.dumps(legs))


@given(codes, codes, st.one_of(amounts, st.just(0), st.floats(), st.booleans()))
def test_transfer_legs_are_the_validated_legs_of_a_transfer(source, destination, amount):
    def outcome(make):
        try:
            return make()
        except ledgerlib.LedgerError as error:
            return type(error)

    assert outcome(lambda: transfer_legs(source, destination, amount)) == outcome(
        lambda: validate_legs([debit(source, amount), credit(destination, amount)]))
