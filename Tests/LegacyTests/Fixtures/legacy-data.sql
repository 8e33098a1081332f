-- A small old-bot database exercising every irregularity of legacy-schema.md.
-- Guild 111: the main community; 222: the same Discord user under an alt (irregularity 1), a chat
-- bot in both, same role names with other thresholds; 333: a negative balance (refused); 444: one Kick
-- name linked to two Discord users (refused).

-- The old draw, recomputed by SQL alone: int(sha256("seed:client:nonce")[:16], 16) % total + 1.
CREATE FUNCTION hex_to_numeric(h text) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
  SELECT COALESCE(sum((position(substr(lower(h), i, 1) IN '0123456789abcdef') - 1)::numeric
                      * power(16::numeric, length(h) - i)), 0)
  FROM generate_series(1, length(h)) AS i
$$;
CREATE FUNCTION old_winning_ticket(seed text, client text, nonce text, total bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
  SELECT (mod(hex_to_numeric(substr(encode(sha256(convert_to(seed || ':' || client || ':' || nonce, 'UTF8')), 'hex'), 1, 16)),
              total) + 1)::bigint
$$;

-- links (irregularity 2: carol renamed, link holds the new name; 9: bob's user_points has no discord_id;
-- 10: dave linked with no watch time; the streamer linked and excluded from draws)
INSERT INTO links (discord_id, kick_name, discord_server_id, discord_username) VALUES
  (1001, 'alice', 111, 'Alice'), (1002, 'bob', 111, 'Bob'), (1003, 'carol_new', 111, 'Carol'),
  (1004, 'dave', 111, 'Dave'), (1005, 'streamer', 111, 'Streamer'),
  (1001, 'alice_alt', 222, 'Alice'), (2001, 'hank', 222, 'Hank'),
  (3001, 'Zed', 444, 'Zed'), (3002, 'zed', 444, 'zed2');
INSERT INTO links (discord_id, kick_name, discord_server_id, platform) VALUES (1001, 'alice_tw', 111, 'twitch');

-- watch time (10: nightbot, an unlinked chat bot near the top in two guilds; bob and gina tie)
INSERT INTO watchtime (username, minutes, last_active, discord_server_id) VALUES
  ('alice', 3000, now(), 111), ('bob', 700, now(), 111), ('carol_new', 1500, now(), 111),
  ('eve', 900, now(), 111), ('nightbot', 5000, now(), 111), ('gina', 700, now(), 111),
  ('frank', 120, now(), 111), ('streamer', 50, now(), 111),
  ('alice_alt', 100, now(), 222), ('alice', 400, now(), 222), ('nightbot', 6000, now(), 222),
  ('hank', 50, now(), 222), ('ivan', 400, now(), 222),
  ('mallory', 10, now(), 333), ('zed', 10, now(), 444);

-- the points ledger: one row per conversion of 5 minutes (2 points in 111, 1 in 222)
INSERT INTO points_watchtime_converted (kick_username, minutes_converted, points_awarded, discord_server_id)
SELECT name, 5, pts, guild FROM (VALUES
  ('alice', 600, 2, 111), ('bob', 140, 2, 111), ('carol_new', 100, 2, 111), ('eve', 180, 2, 111),
  ('nightbot', 1000, 2, 111), ('gina', 140, 2, 111), ('frank', 24, 2, 111), ('streamer', 10, 2, 111),
  ('alice_alt', 20, 1, 222), ('alice', 80, 1, 222), ('nightbot', 1200, 1, 222), ('hank', 10, 1, 222),
  ('ivan', 80, 1, 222)) AS v(name, n, pts, guild), generate_series(1, n);
-- irregularity 2: carol_old's ledger rows were deleted at !updatekick, so the next tick converted her
-- 1000 old minutes a second time in one row
INSERT INTO points_watchtime_converted (kick_username, minutes_converted, points_awarded, discord_server_id)
VALUES ('carol_new', 1000, 400, 111);

-- balances (3: bob's cancelled VIP was refunded; 2: carol's rows summed, earned ≠ ledger; 9: bob's
-- discord_id cache is NULL)
INSERT INTO user_points (kick_username, discord_id, points, total_earned, total_spent, discord_server_id) VALUES
  ('alice', 1001, 950, 1200, 250, 111), ('bob', NULL, 280, 280, 0, 111), ('carol_new', 1003, 1000, 1000, 0, 111),
  ('eve', NULL, 310, 360, 50, 111), ('nightbot', NULL, 2000, 2000, 0, 111), ('gina', NULL, 280, 280, 0, 111),
  ('frank', NULL, 48, 48, 0, 111), ('streamer', 1005, 20, 20, 0, 111),
  ('alice_alt', 1001, 20, 20, 0, 222), ('alice', NULL, 80, 80, 0, 222), ('nightbot', NULL, 1200, 1200, 0, 222),
  ('hank', NULL, 10, 10, 0, 222), ('ivan', NULL, 80, 80, 0, 222),
  ('mallory', NULL, -5, 0, 5, 333), ('zed', NULL, 1, 1, 0, 444);

-- settings: global defaults, guild rows over them, unknown keys
INSERT INTO bot_settings (key, value, discord_server_id) VALUES
  ('watchtime_tickets_per_hour', '10', NULL), ('gifted_sub_tickets', '15', NULL), ('welcome_message', 'hi', NULL),
  ('gifted_sub_tickets', '20', 111), ('raffle_auto_renew', 'true', 111);
INSERT INTO point_settings (key, value, discord_server_id) VALUES
  ('points_per_5min', '2', 111), ('points_enabled', 'true', 111), ('points_per_5min', '1', 222);

-- roles by name (10: the same names, other thresholds in 222; Tier 3 disabled in 111)
INSERT INTO watchtime_roles (role_name, minutes_required, display_order, enabled, discord_server_id) VALUES
  ('Tier 1', 120, 1, true, 111), ('Tier 2', 600, 2, true, 111), ('Tier 3', 2000, 3, false, 111),
  ('Tier 1', 60, 1, true, 222), ('Tier 2', 300, 2, true, 222);

-- the shop
INSERT INTO point_shop_items (id, name, price, stock, is_active, per_user_limit, limit_window_seconds,
                              discord_server_id, requirement_title, item_type, raffle_ticket_amount) VALUES
  (11, 'Song request', 50, -1, true, -1, 0, 111, 'Which song?', 'custom', NULL),
  (12, 'Raffle tickets x5', 100, -1, true, -1, 0, 111, NULL, 'raffle_ticket', 5),
  (13, 'VIP for a week', 200, 3, true, 1, 0, 111, NULL, 'custom', NULL),
  (14, 'Old emote', 10, -1, false, -1, 0, 111, NULL, 'custom', NULL);
SELECT setval('point_shop_items_id_seq', 100);
INSERT INTO point_sales (id, item_id, kick_username, discord_id, item_name, price_paid, status, purchased_at,
                         discord_server_id, requirement_input) VALUES
  (21, 11, 'alice', 1001, 'Song request', 50, 'pending', now() - interval '1 day', 111, 'Never Gonna Give You Up'),
  (22, 13, 'bob', NULL, 'VIP for a week', 200, 'cancelled', now() - interval '2 days', 111, NULL),
  (23, 11, 'eve', NULL, 'Song request', 50, 'completed', now() - interval '3 days', 111, 'Sandstorm'),
  -- 4: a raffle-ticket item bought while no period was active: completed, points spent, no tickets
  (24, 12, 'alice', 1001, 'Raffle tickets x5', 100, 'completed', '2026-03-15 12:00', 111, NULL),
  (25, 12, 'alice', 1001, 'Raffle tickets x5', 100, 'completed', now() - interval '5 days', 111, NULL);
SELECT setval('point_sales_id_seq', 100);

-- raffle periods: 111 has an ended period (drawn) and the active one; 222 an ended period whose
-- ticket rows are gone
INSERT INTO raffle_periods (id, discord_server_id, start_date, end_date, status, total_tickets, period_number,
                            server_seed, server_seed_commitment) VALUES
  (1, 111, '2026-01-01', '2026-02-01', 'ended', 60, 1, 'seed-one', encode(sha256('seed-one'::bytea), 'hex')),
  (2, 111, now() - interval '10 days', now() + interval '20 days', 'active', 59, 2, 'seed-two',
   encode(sha256('seed-two'::bytea), 'hex')),
  (3, 222, '2026-01-01', '2026-02-01', 'ended', 50, 1, 'seed-three', encode(sha256('seed-three'::bytea), 'hex'));
SELECT setval('raffle_periods_id_seq', 100);

INSERT INTO raffle_tickets (id, period_id, discord_server_id, discord_id, kick_name, watchtime_tickets,
                            gifted_sub_tickets, shuffle_wager_tickets, bonus_tickets, total_tickets) VALUES
  -- ended period 1 (6: bob's gifted-sub tickets have no raffle_gifted_subs rows left; 2: carol's row
  -- keeps her old name; 10: the streamer is excluded, so the period's total is smaller)
  (1, 1, 111, 1001, 'alice', 30, 0, 0, 0, 30), (2, 1, 111, 1002, 'bob', 5, 15, 0, 0, 20),
  (3, 1, 111, 1003, 'carol_old', 10, 0, 0, 0, 10), (4, 1, 111, 1005, 'streamer', 10, 0, 0, 0, 10),
  -- the active period 2 (5: !raffleremove left bob's sources adding up to 10, total 9)
  (10, 2, 111, 1001, 'alice', 20, 15, 0, 5, 40), (11, 2, 111, 1002, 'bob', 7, 0, 3, 0, 9),
  (12, 2, 111, 1003, 'carol_new', 10, 0, 0, 0, 10), (13, 2, 111, 1005, 'streamer', 5, 0, 0, 0, 5);
SELECT setval('raffle_tickets_id_seq', 100);

INSERT INTO raffle_ticket_log (period_id, discord_id, kick_name, ticket_change, source, description) VALUES
  (1, 1001, 'alice', 30, 'watchtime', NULL), (1, 1002, 'bob', 5, 'watchtime', NULL),
  (1, 1002, 'bob', 15, 'gifted_sub', '1 gifted sub'), (1, 1003, 'carol_old', 10, 'watchtime', NULL),
  (1, 1005, 'streamer', 10, 'watchtime', NULL),
  (2, 1001, 'alice', 20, 'watchtime', NULL), (2, 1001, 'alice', 15, 'gifted_sub', NULL),
  (2, 1001, 'alice', 5, 'bonus', 'shop: Raffle tickets x5'), (2, 1002, 'bob', 7, 'watchtime', NULL),
  (2, 1002, 'bob', 3, 'shuffle_wager', NULL), (2, 1002, 'bob', -1, 'admin_removal', 'spam'),
  (2, 1003, 'carol_new', 10, 'watchtime', NULL), (2, 1005, 'streamer', 5, 'watchtime', NULL);

-- 8: several rows per (period, kick_name): a snapshot and conversions; 2: carol's renamed
INSERT INTO raffle_watchtime_converted (period_id, kick_name, minutes_converted, tickets_awarded) VALUES
  (2, 'alice', 60, 10), (2, 'alice', 60, 10), (2, 'alice', 0, 0), (2, 'bob', 60, 10),
  (2, 'carol_new', 60, 10), (2, 'streamer', 30, 5), (1, 'alice', 180, 30);

-- 7: a gift by an unlinked chatter: no Discord id, no tickets, no log row
INSERT INTO raffle_gifted_subs (period_id, gifter_kick_name, gifter_discord_id, recipient_kick_name, sub_count,
                                tickets_awarded, kick_event_id) VALUES
  (2, 'alice', 1001, 'frank', 1, 15, 'evt-1'), (2, 'eve', NULL, 'gina', 2, 0, 'evt-2');

-- 10: the streamer's own account is excluded from draws (and a bot by Kick name)
INSERT INTO raffle_exclusions (discord_server_id, kick_username, discord_id, reason) VALUES
  (111, NULL, '1005', 'streamer account'), (111, 'nightbot', NULL, 'bot');

-- the draws, made by the old algorithm (in SQL): participants by raffle_tickets.id minus exclusions
WITH p AS (
  SELECT t.id, t.discord_id, t.kick_name, t.total_tickets,
         sum(t.total_tickets) OVER (ORDER BY t.id) AS upto
  FROM raffle_tickets t
  WHERE t.period_id = 1 AND t.total_tickets > 0
    AND NOT EXISTS (SELECT 1 FROM raffle_exclusions e WHERE e.discord_server_id = 111
                    AND (e.discord_id = t.discord_id::text OR lower(e.kick_username) = lower(t.kick_name)))
), s AS (SELECT sum(total_tickets)::bigint AS total, count(*)::bigint AS n FROM p),
w AS (SELECT old_winning_ticket('seed-one', '1:' || s.total || ':' || s.n, '1', s.total) AS ticket, s.total, s.n FROM s)
INSERT INTO raffle_draws (period_id, discord_server_id, total_tickets, total_participants, winner_discord_id,
                         winner_kick_name, winning_ticket, drawn_at, server_seed, client_seed, nonce,
                         server_seed_commitment)
SELECT 1, 111, w.total, w.n, p.discord_id, p.kick_name, w.ticket, '2026-02-01 00:05', 'seed-one',
       '1:' || w.total || ':' || w.n, '1', encode(sha256('seed-one'::bytea), 'hex')
FROM w JOIN p ON p.upto >= w.ticket ORDER BY p.id LIMIT 1;

INSERT INTO raffle_draws (period_id, discord_server_id, total_tickets, total_participants, winner_discord_id,
                         winner_kick_name, winning_ticket, drawn_at, server_seed, client_seed, nonce,
                         server_seed_commitment)
VALUES (3, 222, 50, 3, 2001, 'hank', old_winning_ticket('seed-three', '3:50:3', '3', 50), '2026-02-01 00:05',
        'seed-three', '3:50:3', '3', encode(sha256('seed-three'::bytea), 'hex'));
