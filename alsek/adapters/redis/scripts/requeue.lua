--@uses: clock submit_one effects
-- requeue: take a message out of the dead letter queue and submit its new body, in one step.
-- keys: dead letter, then submit_one's, then the effects' ; args: now, submit_one's, effects.
-- Returns 1, 0 if a message with this uuid is stored in the queue, or -1 if the dead letter is
-- gone (in both cases nothing is written, effects included). Checks first, then the effects'
-- submits, then the message's writes, and the dead letter goes last.
local now = read_now()
local dead = key()
if redis.call('EXISTS', dead) == 0 then return -1 end
local s = prepare_submit()
if not s then return 0 end
local staged = stage_effects(now)
write_submit(s, now)
redis.call('DEL', dead)
commit_effects(staged)
return 1
