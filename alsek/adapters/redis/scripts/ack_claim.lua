--@uses: reader ack_one apply_effects claim
-- ack_and_claim: the ack script followed by the claim script, in one round trip.
local now = tonumber(arg())
ack_one()
apply_effects(now)
return claim(now)
