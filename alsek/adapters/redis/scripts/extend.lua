-- extend: renew leases to now + lease_ms. args: now, lease_ms, n, then per message its member ;
-- keys: per message its queue's leased set. Returns the 0-based positions no longer leased.
local now = tonumber(arg())
local lease_until = string.format('%.0f', now + tonumber(arg()))
local lost = {}
for i = 1, tonumber(arg()) do
  local leased = key()
  local m = arg()
  if redis.call('ZSCORE', leased, m) then
    redis.call('ZADD', leased, 'XX', lease_until, m)
  else
    lost[#lost + 1] = i - 1
  end
end
return lost
