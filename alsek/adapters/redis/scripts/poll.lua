--@uses: clock keys
-- poll: whether a claim at now would find work in any of the queues (ready messages, expired
-- leases or due delayed messages); a queue whose keys hold the wrong type is passed over.
-- keys: per queue ready, delayed, leased ; args: now, n
local now = read_now()
local function has_work(k)
  if redis.call('ZCARD', k[1]) > 0 then return true end
  for i = 2, 3 do
    local first = redis.call('ZRANGE', k[i], 0, 0, 'WITHSCORES')
    if first[2] and tonumber(first[2]) <= now then return true end
  end
  return false
end
for _ = 1, tonumber(arg()) do
  local ok, found = pcall(has_work, keys(3))
  if ok and found then return 1 end
end
return 0
