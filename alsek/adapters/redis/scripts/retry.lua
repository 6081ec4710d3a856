--@uses: clock queue_block keys args consts locate stale register_queue wake effects
-- retry: store the updated body and index it again with a new sequence number (delayed by wait
-- ms, or ready when wait <= 0), drop its lease, wake a consumer, apply effects.
-- keys: queue block, body, queue set ; args: now, queue block, body, uuid, task, priority,
-- wait, queue name, token. Returns 1; 0 (nothing written) when the body is gone; -1 (nothing
-- written) when another consumer holds the lease now.
local now = read_now()
local q = queue_block()
local k = keys(2)
local a = args(7)
local uuid, task = a[2], a[3]
local m = uuid .. '|' .. task
if redis.call('EXISTS', k[1]) == 0 then return 0 end
if stale(q, uuid, m, a[7]) then return -1 end
local where = locate(q, m)
if where ~= q.ready then redis.call('ZSCORE', q.ready, m) end  -- type checks before writing
if where ~= q.delayed then redis.call('ZSCORE', q.delayed, m) end
local seq = redis.call('INCR', q.seq)
local staged = stage_effects(now)
register_queue(seq, q, k[2], a[6])
local score = string.format('%.0f', tonumber(a[4]) * SPAN + seq % SPAN)
local target = q.ready
if tonumber(a[5]) <= 0 then
  redis.call('ZADD', q.ready, score, m)
else
  target = q.delayed
  redis.call('ZADD', q.delayed, string.format('%.0f', now + tonumber(a[5])), m)
end
redis.call('HSET', q.slots, uuid, score .. '|' .. task)
redis.call('SET', k[1], a[1])
if where and where ~= target then redis.call('ZREM', where, m) end
wake(q.signal)
commit_effects(staged)
return 1
