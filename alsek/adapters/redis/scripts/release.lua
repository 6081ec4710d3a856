--@uses: reader queue_block args slot_score wake
-- release: leased messages back to ready at once, in their original place.
-- args: now, n, then per message a queue block, uuid, task ; keys: per message a queue block
-- Messages no longer leased are left alone. Returns how many were released.
local _ = arg()
local released = 0
for _ = 1, tonumber(arg()) do
  local q = queue_block()
  local a = args(2)
  local m = a[1] .. '|' .. a[2]
  if redis.call('ZREM', q.leased, m) == 1 then
    local slot = redis.call('HGET', q.slots, a[1])
    if slot then
      redis.call('ZADD', q.ready, slot_score(slot), m)
      wake(q.signal)
      released = released + 1
    end
  end
end
return released
