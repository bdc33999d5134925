-- Per-pool counts kept as seats change (issue 11; bot/store/usage.py keeps them, in the
-- transaction of the change): `/license pool`, the App Home, `report status` and the
-- limits scan read a row per pool instead of counting every active seat each time (35 ms
-- a read at 100,000 seats), and the 30-day forecast reads a row per pool and day instead
-- of every seat assigned or revoked in the window.
-- pool_usage: a seat pool's active seats of its (edition, seat type); a module pool's
-- active holders of its module in the edition.
CREATE TABLE pool_usage (
    kind TEXT NOT NULL CHECK (kind IN ('seat', 'module')),
    edition TEXT NOT NULL,
    item TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (kind, edition, item)
);
INSERT INTO pool_usage (kind, edition, item, n)
    SELECT 'seat', edition, seat_type, COUNT(*) FROM assignments
    WHERE status = 'active' GROUP BY edition, seat_type;
INSERT INTO pool_usage (kind, edition, item, n)
    SELECT 'module', a.edition, m.module, COUNT(*) FROM assignment_modules m
    JOIN assignments a ON a.id = m.assignment_id
    WHERE a.status = 'active' GROUP BY a.edition, m.module;

-- pool_flow_days: per UTC day (the first ten characters of the stored time), the seats
-- assigned and revoked that day, by the pool (edition, seat type or module) each seat is
-- in now: what bot/store/reports.py's forecast query counted seat by seat.
CREATE TABLE pool_flow_days (
    day TEXT NOT NULL,
    edition TEXT NOT NULL,
    item TEXT NOT NULL,
    added INTEGER NOT NULL,
    removed INTEGER NOT NULL,
    PRIMARY KEY (day, edition, item)
);
INSERT INTO pool_flow_days (day, edition, item, added, removed)
    SELECT day, edition, item, SUM(added), SUM(removed) FROM (
        SELECT substr(assigned_at, 1, 10) AS day, edition, seat_type AS item,
               1 AS added, 0 AS removed
        FROM assignments
        UNION ALL
        SELECT substr(revoked_at, 1, 10), edition, seat_type, 0, 1
        FROM assignments WHERE revoked_at IS NOT NULL
        UNION ALL
        SELECT substr(a.assigned_at, 1, 10), a.edition, m.module, 1, 0
        FROM assignment_modules m JOIN assignments a ON a.id = m.assignment_id
        UNION ALL
        SELECT substr(a.revoked_at, 1, 10), a.edition, m.module, 0, 1
        FROM assignment_modules m JOIN assignments a ON a.id = m.assignment_id
        WHERE a.revoked_at IS NOT NULL
    ) AS flows
    GROUP BY day, edition, item;
