--@uses: reader queue_block keys args drop apply_effects
-- fail: drop body, indexes and lease; keep the body in the dead letter queue for ttl ms
-- (when ttl > 0); apply effects. Returns 1 if the message was stored.
-- keys: queue block, body, dead letter ; args: now, queue block, uuid, task, body, ttl
local now = tonumber(arg())
local q = queue_block()
local k = keys(2)
local a = args(4)
local existed = redis.call('DEL', k[1]) + drop(q, a[1], a[2])
if tonumber(a[4]) > 0 then redis.call('SET', k[2], a[3], 'PX', a[4]) end
apply_effects(now)
if existed > 0 then return 1 end
return 0
