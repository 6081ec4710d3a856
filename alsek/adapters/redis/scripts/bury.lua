--@uses: reader queue_block keys args drop
-- bury: move an undecodable body found by a claim to the dead letter queue (no TTL) and drop its
-- lease and slot, only if the body still holds the bytes the claim saw.
-- keys: queue block, body, dead letter ; args: now, queue block, uuid, task, raw
local _ = arg()
local q = queue_block()
local k = keys(2)
local a = args(3)
if redis.call('GET', k[1]) ~= a[3] then return 0 end
redis.call('SET', k[2], a[3])
redis.call('DEL', k[1])
drop(q, a[1], a[2])
return 1
