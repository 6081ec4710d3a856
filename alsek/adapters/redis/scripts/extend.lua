--@uses: clock owned
-- extend: renew leases to now + lease_ms, queue by queue (ZMSCORE needs Redis >= 6.2), only
-- for their holders. args: now, lease_ms, #groups, then per group its size and (member, uuid,
-- token) triples ; keys: per group the queue's leased set and slots. Returns {lost, errors}: the 0-based
-- positions (in argument order) no longer leased by their holder, and {position of a group's
-- first member, error} for groups whose keys hold the wrong type (their leases are left alone).
local now = read_now()
local lease_until = string.format('%.0f', now + tonumber(arg()))
local lost, errors = {}, {}
local position = 0
local function renew(leased, slots, members, uuids, tokens, base)
  local scores = redis.call('ZMSCORE', leased, unpack(members))
  local owners = redis.call('HMGET', slots, unpack(uuids))
  local za = {}
  for i, m in ipairs(members) do
    if scores[i] and owned(owners[i], tokens[i]) then
      za[#za + 1] = lease_until
      za[#za + 1] = m
    else
      lost[#lost + 1] = base + i - 1
    end
  end
  if #za > 0 then redis.call('ZADD', leased, 'XX', unpack(za)) end
end
for _ = 1, tonumber(arg()) do
  local leased, slots = key(), key()
  local n = tonumber(arg())
  local members, uuids, tokens = {}, {}, {}
  for i = 1, n do
    members[i], uuids[i], tokens[i] = ARGV[A + 1], ARGV[A + 2], ARGV[A + 3]
    A = A + 3
  end
  local mark = #lost
  local ok, err = pcall(renew, leased, slots, members, uuids, tokens, position)
  if not ok then
    for i = #lost, mark + 1, -1 do lost[i] = nil end
    errors[#errors + 1] = position
    errors[#errors + 1] = tostring(err)
  end
  position = position + n
end
return {lost, errors}
