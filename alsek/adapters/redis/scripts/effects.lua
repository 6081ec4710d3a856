--@uses: reader apply_effects
-- effects: apply effects on their own (the RUNNING status: a write and a publish).
-- args: now, then apply_effects'.
apply_effects(tonumber(arg()))
return 1
