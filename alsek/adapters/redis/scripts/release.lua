--@uses: clock queue_block args consts slot_score owned wake
-- release: leased messages back to ready at once, in their original place (or, with a delay,
-- to delayed for that many ms). args: now, delay_ms, n, then per message a queue block, uuid,
-- task, token ; keys: per message a queue block. A message no longer leased, or leased by
-- another consumer now, is left alone; so is one whose queue's keys hold the wrong type.
-- Returns the 0-based positions of the messages not released.
local now = read_now()
local delay = tonumber(arg())
local kept = {}
local function release_one(q, uuid, task, token)
  local m = uuid .. '|' .. task
  if not redis.call('ZSCORE', q.leased, m) then return false end
  local slot = redis.call('HGET', q.slots, uuid)
  if not owned(slot, token) then return false end
  local score = slot and slot_score(slot)
  if not tonumber(score) then  -- no slot, or one written by hand: a fresh one, first in line
    score = '0'
    redis.call('HSET', q.slots, uuid, '0|' .. task)
  end
  if delay > 0 then
    redis.call('ZADD', q.delayed, string.format('%.0f', now + delay), m)
  else
    redis.call('ZADD', q.ready, score, m)
  end
  redis.call('ZREM', q.leased, m)
  if delay <= 0 then wake(q.signal) end
  return true
end
for i = 1, tonumber(arg()) do
  local q = queue_block()
  local a = args(3)
  local ok, released = pcall(release_one, q, a[1], a[2], a[3])
  if not (ok and released) then kept[#kept + 1] = i - 1 end
end
return kept
