--@uses: reader queue_block keys args locate
-- bury: move an undecodable body found by a claim (or by a repair) to the dead letter queue (no
-- TTL) and drop its index entry and slot, only if the body still holds the bytes it saw.
-- keys: queue block, body, dead letter ; args: now, queue block, uuid, task, raw
local _ = arg()
local q = queue_block()
local k = keys(2)
local a = args(3)
if redis.call('GET', k[1]) ~= a[3] then return 0 end
local m = a[1] .. '|' .. a[2]
local where = locate(q, m)
redis.call('SET', k[2], a[3])
if where then
  redis.call('ZREM', where, m)
  redis.call('HDEL', q.slots, a[1])
end
redis.call('DEL', k[1])
return 1
