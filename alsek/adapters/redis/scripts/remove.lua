--@uses: clock ack_one
-- remove: delete a message wherever it is (ready, delayed or leased), whoever holds it.
-- keys: queue block, body ; args: now, queue block, uuid, task, '' (no token), no effects.
-- Returns 1 if it was stored.
return ack_one(read_now())
