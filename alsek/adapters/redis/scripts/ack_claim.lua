--@uses: reader ack_one apply_effects claim
-- ack_and_claim: the ack script for each of n messages, then the claim script, in one round trip.
-- args: now, n, then per message ack_one's and apply_effects' (keys likewise), then claim's.
local now = tonumber(arg())
for _ = 1, tonumber(arg()) do
  ack_one()
  apply_effects(now)
end
return claim(now)
