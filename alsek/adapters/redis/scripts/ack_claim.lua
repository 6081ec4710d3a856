--@uses: clock ack_group claim
-- ack_many_and_claim: acknowledge the messages of each queue group (see ack_group), then claim, in
-- one round trip. args: now, number of groups, then per group ack_group's keys and args, then
-- claim's. Returns claim's reply (with the acks lost to another holder, and those that failed).
local now = read_now()
local lost, failed = {}, {}
local position = 0
for _ = 1, tonumber(arg()) do position = ack_group(now, position, lost, failed) end
return claim(now, lost, failed)
