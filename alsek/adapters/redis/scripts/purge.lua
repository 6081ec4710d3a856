--@uses: reader queue_block
-- purge: remove up to limit waiting messages of a queue (ready first, then delayed): bodies,
-- index entries and slots. Leased messages are left to their holders. keys: queue block ;
-- args: now (unused), queue block, limit (<= 1000: one unpack). Both sets are read before
-- anything is written. Returns how many were removed.
local _ = arg()
local q = queue_block()
local limit = tonumber(arg())
local ready = redis.call('ZRANGE', q.ready, 0, limit - 1)
local delayed = {}
if #ready < limit then delayed = redis.call('ZRANGE', q.delayed, 0, limit - #ready - 1) end
for _, batch in ipairs({{q.ready, ready}, {q.delayed, delayed}}) do
  local members = batch[2]
  if #members > 0 then
    local bodies, uuids = {}, {}
    for i, m in ipairs(members) do
      local uuid, task = string.match(m, '^(.*)|([^|]*)$')
      uuids[i] = uuid or m
      bodies[i] = q.bodies .. (task or '') .. ':messages:' .. (uuid or m)
    end
    redis.call('ZREM', batch[1], unpack(members))
    redis.call('HDEL', q.slots, unpack(uuids))
    redis.call('DEL', unpack(bodies))
  end
end
return #ready + #delayed
