--@uses: reader ack_one
-- remove: delete a message wherever it is (ready, delayed or leased).
-- keys: queue block, body ; args: now, queue block, uuid, task. Returns 1 if it was stored.
local _ = arg()
return ack_one()
