--@uses: reader ack_one apply_effects
-- ack: drop body, indexes and lease, then apply effects. Returns 1 if the message was stored.
-- args: now, ack_one's, effects.
local now = tonumber(arg())
local existed = ack_one()
apply_effects(now)
return existed
