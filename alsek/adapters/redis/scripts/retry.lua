--@uses: reader queue_block keys args index wake apply_effects
-- retry: store the updated body, index it again with a new sequence number (delayed until
-- ready_at, or ready when that is not in the future), drop its lease, wake a consumer, apply
-- effects. keys: queue block, body, queue set ; args: now, queue block, body, uuid, task,
-- priority, ready_at, queue name. Returns 0 (and writes nothing) when the body is gone, else 1.
local now = tonumber(arg())
local q = queue_block()
local k = keys(2)
local a = args(6)
if redis.call('EXISTS', k[1]) == 0 then return 0 end
redis.call('SET', k[1], a[1])
local old = redis.call('HGET', q.slots, a[2])
if index(q, a[2], a[3], tonumber(a[4]), a[5], now, old) == 1 then redis.call('SADD', k[2], a[6]) end
wake(q.signal)
apply_effects(now)
return 1
