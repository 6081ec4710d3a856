--@uses: reader ack_group claim
-- ack_many_and_claim: acknowledge the messages of each queue group (see ack_group), then claim, in
-- one round trip. args: now, number of groups, then per group ack_group's keys and args, then
-- claim's.
local now = tonumber(arg())
for _ = 1, tonumber(arg()) do ack_group(now) end
return claim(now)
