--@uses: clock submit_one effects
-- submit_many: the submit script for each of n messages, in one round trip and one atomic step.
-- args: now, n, then per message submit_one's keys and args, then its effects. Returns per
-- message 1 (stored, effects applied) or 0 (a message with its uuid is stored: nothing written
-- for it, its effects skipped). Each message is whole or not at all; a key of the wrong type
-- stops the script at that message (those before it are stored).
local now = read_now()
local out = {}
for i = 1, tonumber(arg()) do
  local s = prepare_submit()
  if s then
    local staged = stage_effects(now)
    write_submit(s, now)
    commit_effects(staged)
    out[i] = 1
  else
    skip_effects()
    out[i] = 0
  end
end
return out
