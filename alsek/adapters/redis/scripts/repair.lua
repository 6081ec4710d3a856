--@uses: clock queue_block keys args consts slot_score slot_task body_key locate register_queue wake
-- repair: index again stored bodies that no index holds (a script that failed halfway in an
-- older version, a hand-made key). keys: queue block, queue set, then per body its key ; args:
-- now, queue block, queue name, n, then per body uuid, task, priority, wait (ms from now until
-- ready_at). A body is indexed again only if it still exists and its member is in none of the
-- queue's zsets: at its old place when its slot names it, else as a new submission; a body
-- whose uuid another task's live message holds is left alone. Returns how many were indexed.
local now = read_now()
local q = queue_block()
local set = key()
local name = arg()
local fixed = 0
for _ = 1, tonumber(arg()) do
  local body = key()
  local a = args(4)
  local uuid, task = a[1], a[2]
  local m = uuid .. '|' .. task
  local slot = redis.call('HGET', q.slots, uuid)
  local other = slot and slot_task(slot) ~= task
  if redis.call('EXISTS', body) == 1 and not locate(q, m)
      and not (other and redis.call('EXISTS', body_key(q, uuid, slot_task(slot) or '')) == 1) then
    local score = (not other) and slot and slot_score(slot)
    if not tonumber(score) then
      local seq = redis.call('INCR', q.seq)
      score = string.format('%.0f', tonumber(a[3]) * SPAN + seq % SPAN)
      register_queue(seq, q, set, name)
    end
    if tonumber(a[4]) > 0 then
      redis.call('ZADD', q.delayed, string.format('%.0f', now + tonumber(a[4])), m)
    else
      redis.call('ZADD', q.ready, score, m)
    end
    redis.call('HSET', q.slots, uuid, score .. '|' .. task)
    wake(q.signal)
    fixed = fixed + 1
  end
end
return fixed
