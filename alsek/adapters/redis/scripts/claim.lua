--@uses: clock claim
-- claim: return expired leases and due delayed messages to ready, then lease ready messages.
-- args: now, then claim's.
return claim(read_now(), {}, {})
