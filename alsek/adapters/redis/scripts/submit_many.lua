--@uses: reader submit_one apply_effects
-- submit_many: the submit script for each of n messages, in one round trip and one atomic step.
-- args: now, n, then per message: the key and argument counts of its effects, submit_one's
-- keys and args, then apply_effects'. Returns per message 1 (stored, effects applied) or 0 (a
-- message with its uuid is stored: nothing written for it, its effects skipped).
local now = tonumber(arg())
local out = {}
for i = 1, tonumber(arg()) do
  local effect_keys, effect_args = tonumber(arg()), tonumber(arg())
  if submit_one(now) then
    apply_effects(now)
    out[i] = 1
  else
    K = K + effect_keys
    A = A + effect_args
    out[i] = 0
  end
end
return out
