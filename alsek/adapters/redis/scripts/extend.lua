--@uses: reader args
-- extend: renew leases to now + lease_ms, queue by queue (ZMSCORE needs Redis >= 6.2).
-- args: now, lease_ms, #groups, then per group its size and members ; keys: per group the
-- queue's leased set. Returns the 0-based positions (in argument order) no longer leased.
local now = tonumber(arg())
local lease_until = string.format('%.0f', now + tonumber(arg()))
local lost = {}
local position = 0
for _ = 1, tonumber(arg()) do
  local leased = key()
  local members = args(tonumber(arg()))
  local scores = redis.call('ZMSCORE', leased, unpack(members))
  local za = {}
  for i, m in ipairs(members) do
    if scores[i] then
      za[#za + 1] = lease_until
      za[#za + 1] = m
    else
      lost[#lost + 1] = position + i - 1
    end
  end
  position = position + #members
  if #za > 0 then redis.call('ZADD', leased, 'XX', unpack(za)) end
end
return lost
