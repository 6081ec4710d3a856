--@uses: reader keys
-- poll: whether a claim at now would find work in any of the queues (ready messages, expired
-- leases or due delayed messages). keys: per queue ready, delayed, leased ; args: now, n
local now = tonumber(arg())
for _ = 1, tonumber(arg()) do
  local k = keys(3)
  if redis.call('ZCARD', k[1]) > 0 then return 1 end
  for i = 2, 3 do
    local first = redis.call('ZRANGE', k[i], 0, 0, 'WITHSCORES')
    if first[2] and tonumber(first[2]) <= now then return 1 end
  end
end
return 0
