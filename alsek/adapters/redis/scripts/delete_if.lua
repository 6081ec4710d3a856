--@uses: reader
-- delete_if: delete a key only if it holds the given bytes (compare-and-delete).
-- keys: the key ; args: now (unused), the value. Returns 1 if deleted.
local k, _, value = key(), arg(), arg()
if redis.call('GET', k) == value then return redis.call('DEL', k) end
return 0
