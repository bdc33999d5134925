-- Every card the bot posted for a request (issue 9 item 3): normally one; two when an
-- ambiguous post could not be resolved. requests.card_channel/card_ts stay the primary
-- card; every card here is updated on the decision and a thread reply under any works.
CREATE TABLE request_cards (
    request_id BIGINT NOT NULL REFERENCES requests(id),
    channel TEXT NOT NULL,
    ts TEXT NOT NULL,
    posted_at TEXT,
    PRIMARY KEY (channel, ts)
);
CREATE INDEX request_cards_request ON request_cards(request_id);
INSERT INTO request_cards (request_id, channel, ts, posted_at)
    SELECT id, card_channel, card_ts, created_at FROM requests
    WHERE card_channel IS NOT NULL AND card_ts IS NOT NULL;
