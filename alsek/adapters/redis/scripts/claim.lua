--@uses: reader claim
-- claim: return expired leases and due delayed messages to ready, then lease ready messages.
-- args: now, then claim's.
return claim(tonumber(arg()))
