-- retry: store the updated body, index it again with a new sequence number (delayed until
-- ready_at, or ready when that is not in the future), drop its lease, wake a consumer, apply
-- effects. keys: queue block, body ; args: now, queue block, body, uuid, task, priority, ready_at
-- Returns 0 (and writes nothing) when the body is gone, else 1.
local now = tonumber(arg())
local q = queue_block()
local body = key()
local a = args(5)
if redis.call('EXISTS', body) == 0 then return 0 end
redis.call('SET', body, a[1])
index(q, a[2], a[3], tonumber(a[4]), a[5], now, redis.call('HGET', q.slots, a[2]))
wake(q.signal)
apply_effects(now)
return 1
