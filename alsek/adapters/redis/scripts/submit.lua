--@uses: clock submit_one effects
-- submit: index a message, store its body, wake a consumer, with its effects. args: now, then
-- submit_one's, then the effects. Returns 1, or 0 if the message already exists (nothing
-- written, effects included). Checks and the count come first, then the effects' submits, then
-- this message's writes: a failure leaves nothing of it.
local now = read_now(true)  -- nil: TIME is read only for a delay
local s = prepare_submit()
if not s then return 0 end
local staged = stage_effects(now)
write_submit(s, now)
commit_effects(staged)
return 1
