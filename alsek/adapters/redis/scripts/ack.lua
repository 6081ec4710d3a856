--@uses: clock ack_one
-- ack: drop body, index entry and lease, then apply effects. args: now, then ack_one's (with
-- the effects). Returns 1 if the message was stored, 0 if not, -1 if another consumer holds the
-- lease now (nothing written).
return ack_one(read_now())
