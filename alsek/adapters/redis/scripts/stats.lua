--@uses: clock keys args consts
-- stats: the counts of one queue and the bodies at the head of its first priority bands, read
-- in one step (reads only). keys: ready, delayed, leased ; args: now, prefix of the queue's
-- body keys, most bands. Returns {now, ready, due delayed, delayed not due, leased, the due
-- time of the earliest due delayed message or '', then per band head its member and body}.
local now = read_now()
local k = keys(3)
local a = args(2)
local ready, delayed, leased, bodies = k[1], k[2], k[3], a[1]
local due = redis.call('ZCOUNT', delayed, '-inf', now)
local out = {now, redis.call('ZCARD', ready), due, redis.call('ZCARD', delayed) - due,
             redis.call('ZCARD', leased), ''}
if due > 0 then out[6] = redis.call('ZRANGE', delayed, 0, 0, 'WITHSCORES')[2] end
local from = '-inf'
for _ = 1, tonumber(a[2]) do
  local head = redis.call('ZRANGEBYSCORE', ready, from, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if #head == 0 then break end
  local uuid, task = string.match(head[1], '^(.*)|([^|]*)$')
  out[#out + 1] = head[1]
  out[#out + 1] = uuid and redis.call('GET', bodies .. task .. ':messages:' .. uuid) or ''
  -- the next band starts at (priority + 1) * SPAN (score = priority * SPAN + sequence)
  from = string.format('%.0f', (math.floor(tonumber(head[2]) / SPAN) + 1) * SPAN)
end
return out
