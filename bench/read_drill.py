"""The standby-read checks of the failover drill (webcommon.reads), on the
drill's cluster with the user app's ``sqlalchemy.read_url`` on HAProxy's
replica door:

1. a person's history page is served from a standby once it has caught up;
2. with replay paused on every standby, a person who just sent money sees the
   transfer on their next page (read from the primary: read-your-writes),
   while the recipient's page, still served by a standby, does not show it yet
   (staleness is real, and bounded by the pause);
3. a payment written on the primary and rolled back is never shown by a page
   served from a standby, even once the standby replayed past its WAL.
"""
from __future__ import annotations

from bench.cluster import PatroniCluster, wait_for
from bench.people import Person

ROLLED_BACK_NOTE = "rolled-back-drill"


def _history(person: Person) -> str:
    status, _, page, _ = person.request("/transactions")
    return page if status == 200 else ""


def read_checks(cluster: PatroniCluster, writer: Person, reader: Person,
                figures: dict) -> list[str]:
    problems: list[str] = []
    roles = wait_for("the cluster whole", cluster.healthy, 60)
    standbys = [name for name, role in roles.items() if role in ("replica", "sync_standby")]
    leader = next(name for name, role in roles.items() if role in ("leader", "master"))
    try:
        wait_for("a history page from a standby",
                 lambda: _history(reader) and reader.read_from == "standby", 20)
    except TimeoutError:
        problems.append(f"history never served from a standby (said {reader.read_from!r})")
    with cluster.maintenance():  # (else Patroni resumes the paused replay)
        problems += _paused_standbys_checks(cluster, standbys, writer, reader, figures)
    problems += _rolled_back_payment_unseen(cluster, leader, standbys, writer, reader, figures)
    return problems


def _paused_standbys_checks(cluster: PatroniCluster, standbys: list[str], writer: Person,
                            reader: Person, figures: dict) -> list[str]:
    """Read-your-writes and bounded staleness, with every standby's replay paused."""
    problems: list[str] = []
    for name in standbys:
        with cluster.connect(name) as conn:
            conn.execute("SELECT pg_wal_replay_pause()")
            # Only requested so far: the startup process pauses at its next
            # record, and a busy machine may replay the transfer first.
            wait_for(f"{name}'s replay paused", lambda conn=conn: conn.execute(
                "SELECT pg_get_wal_replay_pause_state()").fetchone()[0] == "paused", 20)
    try:
        before = len(writer.log.acks)
        if not writer.send("send", "/send", {"phone": reader.phone[3:], "amount": "1.23",
                                             "note": "read your writes"}, 123):
            return ["the read-your-writes transfer was not acknowledged"]
        tx_id = writer.log.acks[before].tx_id
        mine = _history(writer)
        figures["payer's history right after, served by"] = writer.read_from
        if f"/transactions/{tx_id}" not in mine:
            problems.append("the payer's history does not show the transfer just made")
        theirs = _history(reader)
        figures["recipient's history meanwhile, served by"] = reader.read_from
        if reader.read_from == "standby" and f"/transactions/{tx_id}" in theirs:
            problems.append("a paused standby showed a transfer it had not replayed")
    finally:
        for name in standbys:
            with cluster.connect(name) as conn:
                conn.execute("SELECT pg_wal_replay_resume()")
    return problems


def _rolled_back_payment_unseen(cluster: PatroniCluster, leader: str, standbys: list[str],
                                writer: Person, reader: Person, figures: dict) -> list[str]:
    problems = []
    with cluster.connect(leader, "wallet") as conn:
        conn.execute("BEGIN")
        conn.execute(
            "INSERT INTO transactions (kind, status, amount_paise, payer_user_id, "
            "payee_user_id, note, idempotency_key, created_at, updated_at) VALUES "
            "('transfer', 'completed', 777, %s, %s, %s, 'drill-rolled-back', now(), now())",
            (writer.user_id, reader.user_id, ROLLED_BACK_NOTE))
        with cluster.connect(leader) as other:
            position = other.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]

        def replayed() -> bool:
            for name in standbys:
                with cluster.connect(name) as standby:
                    row = standby.execute("SELECT pg_last_wal_replay_lsn() >= %s",
                                          (position,)).fetchone()
                    if not (row and row[0]):
                        return False
            return True

        wait_for("the standbys past the uncommitted payment", replayed, 20)
        during = _history(reader)
        figures["rolled-back payment: page served by"] = reader.read_from
        conn.execute("ROLLBACK")
    after = _history(reader)
    if ROLLED_BACK_NOTE in during or ROLLED_BACK_NOTE in after:
        problems.append("a page showed a payment the primary rolled back")
    return problems
