"""The bulk usage path (COPY through a staging table): de-duplication, the roll-up, alerts, and rejected rows."""
from __future__ import annotations

import io
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timezone

import pytest

from billing.cli import main as cli
from billing.domain.errors import InvalidRequest, UnknownUser
from billing.ports.db import usage
from billing.services.usage.ingest import UsageEvent, ingest_bulk, ingest_csv
from tests.support import Undo

HEADER = "eventId,userId,timestamp,requests\n"


def csv_file(*lines: str) -> io.BytesIO:
    return io.BytesIO((HEADER + "".join(line + "\n" for line in lines)).encode())


def test_a_file_sent_twice_is_counted_once_and_rolled_up_by_utc_day_and_month(make_customer, db, rollups):
    user = make_customer()
    lines = [f"{user}-{i},{user},2026-10-{1 + i % 31:02d}T23:30:00+00:00,2" for i in range(300)]
    lines += [f'"{user},late",{user},2026-11-01T00:30:00+01:00,5',  # 23:30 UTC on October 31st; a quoted id
              f"{user}-naive,{user},2026-10-05 12:00:00,1"]  # no offset: UTC
    first = ingest_csv(csv_file(*lines), chunk_bytes=4096, db=db)  # several chunks, each its own transaction
    again = ingest_csv(csv_file(*lines, f"{user}-new,{user},2026-10-06T00:00:00Z,7"), db=db)
    assert (first.accepted, first.duplicates, again.accepted, again.duplicates) == (302, 0, 1, 302)
    with db.transaction() as tx:
        october = usage.requests_in(tx, user, date(2026, 10, 1), date(2026, 10, 31))
        raw = tx.value("SELECT sum(requests) FROM usage_logs WHERE user_id = CAST(:u AS uuid)", u=user)
        oct31 = tx.value("SELECT requests FROM usage_daily WHERE user_id = CAST(:u AS uuid) AND day = '2026-10-31'",
                         u=user)
        naive = tx.value("SELECT occurred_at FROM usage_logs WHERE event_id = :e", e=f"{user}-naive")
    assert october == raw == 300 * 2 + 5 + 1 + 7
    assert oct31 == 9 * 2 + 5  # i % 31 == 30 for 9 of the 300 lines, plus the +01:00 event
    assert naive == datetime(2026, 10, 5, 12, tzinfo=timezone.utc)
    held = rollups([user])
    assert held["daily"][0] == held["daily"][1] and held["monthly"][0] == held["monthly"][1]
    assert held["monthly"][1] == {(user, date(2026, 10, 1)): october}


def test_ingest_bulk_takes_events_and_raises_the_threshold_alert_once(make_customer, db):
    user = make_customer()  # BASIC: 10,000 requests included
    events = [UsageEvent(f"{user}-b{i}", user, datetime(2026, 10, 10, 8, i % 60, tzinfo=timezone.utc), 100)
              for i in range(85)]
    assert ingest_bulk(events, chunk_events=40, db=db).accepted == 85
    assert ingest_bulk(events, db=db).duplicates == 85
    with db.transaction() as tx:
        thresholds = tx.all("SELECT threshold FROM billing_alerts WHERE user_id = CAST(:u AS uuid)", u=user)
    assert [row["threshold"] for row in thresholds] == [80]


@pytest.mark.parametrize("bad, reason", [
    ("{u}-x,{u},2026-10-02T10:00:00Z,0", "requests_check"),
    ("{u}-x,not-a-uuid,2026-10-02T10:00:00Z,3", "uuid"),
    ("{u}-x,{u},2026-13-45T10:00:00Z,3", "date/time"),
    ("{u}-x,{u},2026-10-02T10:00:00Z", "missing data"),
    (",{u},2026-10-02T10:00:00Z,3", "event_id"),
])
def test_a_bad_row_is_refused_with_its_line_and_nothing_of_its_chunk_is_kept(make_customer, db, bad, reason):
    user = make_customer()
    good = f"{user}-ok,{user},2026-10-02T10:00:00Z,3"
    with pytest.raises(InvalidRequest) as refused:
        ingest_csv(csv_file(good, good.replace("-ok", "-ok2"), bad.format(u=user)), db=db)
    assert (refused.value.code, refused.value.extra["line"]) == ("invalid_usage_row", 4)
    assert reason in str(refused.value)
    with db.transaction() as tx:
        assert tx.value("SELECT count(*) FROM usage_logs WHERE user_id = CAST(:u AS uuid)", u=user) == 0


def test_unknown_customers_and_a_wrong_header_are_refused_with_stable_codes(make_customer, db):
    user, stranger = make_customer(), str(uuid.uuid4())
    with pytest.raises(UnknownUser) as unknown:
        ingest_csv(csv_file(f"{user}-k,{user},2026-10-02T10:00:00Z,3", f"s-1,{stranger},2026-10-02T10:00:00Z,3"),
                   db=db)
    assert unknown.value.extra["userIds"] == [stranger]
    with pytest.raises(InvalidRequest) as header:
        ingest_csv(io.BytesIO(b"event_id;user_id\n"), db=db)
    assert header.value.code == "invalid_usage_file"
    with db.transaction() as tx:
        assert tx.value("SELECT count(*) FROM usage_logs WHERE event_id = :e", e=f"{user}-k") == 0


def test_billing_usage_import_reports_each_file(make_customer, tmp_path, capsys):
    user = make_customer()
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(HEADER + f"{user}-cli,{user},2026-10-03T09:00:00Z,4\n")
    bad.write_text(HEADER + f"{user}-cli2,{user},yesterday-ish,4\n")
    assert cli(["usage", "import", str(good)]) == 0
    assert cli(["usage", "import", str(good), str(bad)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{good}: 1 event(s) recorded, 0 duplicate(s) skipped",
                   f"{good}: 0 event(s) recorded, 1 duplicate(s) skipped",
                   out[2]]
    assert out[2].startswith(f"{bad}: invalid_usage_row: line 2:")


def test_every_customers_usage_for_a_month_comes_from_the_roll_up(make_customer, db):
    users = [make_customer(), make_customer()]
    ingest_bulk([UsageEvent(f"{u}-m{i}", u, datetime(2026, 10, 1 + i, tzinfo=timezone.utc), 1 + n)
                 for n, u in enumerate(users) for i in range(3)], db=db)
    october = (date(2026, 10, 1), date(2026, 10, 31))
    with pytest.raises(Undo):
        with db.transaction() as tx:
            totals = usage.requests_by_user(tx, *october)
            assert {u: totals[u] for u in users} == {users[0]: 3, users[1]: 6}
            # Only a read of the monthly roll-up sees this (rolled back below).
            tx.execute("UPDATE usage_monthly SET requests = requests + 1000 WHERE user_id = ANY(CAST(:u AS uuid[]))",
                       u=users)
            totals = usage.requests_by_user(tx, *october)
            assert {u: totals[u] for u in users} == {users[0]: 1003, users[1]: 1006}
            raise Undo


def test_concurrent_batches_of_the_same_customers_and_days_do_not_deadlock(make_customer, db, rollups):
    import random

    from billing.services.usage.ingest import ingest_usage

    users = [make_customer() for _ in range(10)]
    pairs = [(u, datetime(2026, m, d, 12, tzinfo=timezone.utc)) for u in users for m in (10, 11) for d in range(1, 16)]

    def client(n: int) -> None:
        rng = random.Random(n)
        for batch in range(6):  # a different subset each time: the roll-up rows come in another hash order
            events = [UsageEvent(f"{u}-c{n}-{batch}-{i}", u, day, 1)
                      for i, (u, day) in enumerate(rng.sample(pairs, 200))]
            ingest_usage(events, db=db)

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(client, range(6)))  # a client's exception (a deadlock) is raised here
    with db.transaction() as tx:
        assert sum(usage.requests_in(tx, u, date(2026, 10, 1), date(2026, 11, 30)) for u in users) == 6 * 6 * 200
    held = rollups(users)
    assert held["daily"][0] == held["daily"][1] and held["monthly"][0] == held["monthly"][1]


def test_files_and_batches_re_sent_concurrently_are_counted_once_without_deadlock(make_customer, db, rollups):
    """Overlapping event ids in different orders, by both paths at once: each waits for the other's ids, and
    every event, day and month is counted once."""
    import random

    from billing.services.usage.ingest import ingest_usage

    users = [make_customer() for _ in range(5)]
    events = [UsageEvent(f"{users[i % 5]}-o{i}", users[i % 5],
                         datetime(2026, 10 + i % 2, 1 + i % 28, i % 24, tzinfo=timezone.utc), 1 + i % 3)
              for i in range(3000)]

    def client(n: int) -> list[UsageEvent]:
        rng, sent = random.Random(n), []
        for _ in range(3):
            mine = rng.sample(events, 1500)  # another order, half the events, each time
            if n % 2:
                mine = mine[:1000]
                ingest_usage(mine, db=db)
            else:
                ingest_bulk(mine, chunk_events=500, db=db)
            sent += mine
        return sent

    with ThreadPoolExecutor(6) as pool:
        sent = list(pool.map(client, range(6)))  # a client's exception (a deadlock) is raised here
    held = rollups(users)
    assert held["daily"][0] == held["daily"][1] and held["monthly"][0] == held["monthly"][1]
    recorded = {e.event_id: e.requests for batch in sent for e in batch}
    with db.transaction() as tx:
        stored = tx.value("SELECT count(*) FROM usage_logs WHERE user_id = ANY(CAST(:u AS uuid[]))", u=users)
    assert stored == len(recorded) and sum(held["monthly"][1].values()) == sum(recorded.values())


def test_chunks_load_in_parallel_and_a_bad_row_reports_its_line_and_a_fixed_resend_completes(make_customer, db,
                                                                                              rollups):
    user = make_customer()
    lines = [f"{user}-par{i % 700},{user},2026-{10 + i % 2}-{1 + i % 28:02d}T10:00:00Z,{1 + i % 5}"
             for i in range(1000)]  # ids 0-299 come twice (with the same requests), in chunks loaded at once
    bad = lines.copy()
    bad[500] = f"{user}-bad,{user},2026-10-02T10:00:00Z,-1"
    with pytest.raises(InvalidRequest) as refused:
        ingest_csv(csv_file(*bad), chunk_bytes=8192, connections=3, db=db)  # ~14 chunks
    assert refused.value.extra["line"] == 502
    result = ingest_csv(csv_file(*lines), chunk_bytes=8192, connections=3, db=db)
    assert result.accepted + result.duplicates == 1000
    expected = {}
    for line in lines:
        event_id, _, _, requests = line.split(",")
        expected.setdefault(event_id, int(requests))
    held = rollups([user])
    with db.transaction() as tx:
        assert tx.value("SELECT count(*) FROM usage_logs WHERE user_id = CAST(:u AS uuid)", u=user) == 700
    assert held["daily"][0] == held["daily"][1] and held["monthly"][0] == held["monthly"][1]
    assert sum(held["monthly"][1].values()) == sum(expected.values())
