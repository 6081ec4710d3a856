--@uses: clock queue_block keys args stale unindex effects
-- fail: drop body, index entry and lease; keep the body in the dead letter queue for ttl ms
-- (when ttl > 0); apply effects. Returns 1 if the message was stored, 0 if not, -1 (nothing
-- written) if another consumer holds the lease now.
-- keys: queue block, body, dead letter ; args: now, queue block, uuid, task, token, body, ttl
local now = read_now()
local q = queue_block()
local k = keys(2)
local a = args(5)
local uuid, task = a[1], a[2]
local m = uuid .. '|' .. task
if stale(q, uuid, m, a[3]) then return -1 end
local staged = stage_effects(now)
if tonumber(a[5]) > 0 then redis.call('SET', k[2], a[4], 'PX', a[5]) end
local indexed = unindex(q, m)
if indexed then redis.call('HDEL', q.slots, uuid) end
local existed = redis.call('DEL', k[1])
commit_effects(staged)
if indexed or existed == 1 then return 1 end
return 0
