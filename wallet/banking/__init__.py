"""Money crossing to and from banks: the banks and their protocols, deposits, withdrawals and
payouts, bank events, settlement shards and delays."""
