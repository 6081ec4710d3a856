--@uses: clock effects
-- effects: apply effects on their own (the RUNNING status: a write and a publish).
-- args: now, then the effects.
commit_effects(stage_effects(read_now()))
return 1
