--@uses: reader submit_one apply_effects
-- submit: store a body (SET NX), index it, wake a consumer, then apply effects.
-- args: now, then submit_one's, then the effects. Returns 1, or 0 if the message already exists
-- (nothing written, effects included).
local now = tonumber(arg())
if not submit_one(now) then return 0 end
apply_effects(now)
return 1
