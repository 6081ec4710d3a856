-- Shared sections of the alsek scripts. A section starts at a line "--@ name: needs..." and runs
-- to the next one; a script names the sections it calls on its first line ("--@uses: ..."), and
-- is loaded as those sections (with what they need, in this file's order) followed by its own
-- text: Redis runs the whole chunk at every call, so each section costs its closures every time.
-- Keys and arguments are read in order through key()/keys(n) and arg()/args(n), so sections
-- compose: ack_claim.lua is the ack section followed by the claim section.
-- Time is always the caller's now (the backend's clock, first ARGV), never Redis' TIME.
--
-- Per queue (all under the queue's hash tag):
--   slots    hash  uuid -> "<ready score>|<task>"   (every indexed message)
--   ready    zset  "<uuid>|<task>" by ready score (priority * 2^32 + sequence)
--   delayed  zset  "<uuid>|<task>" by ready_at
--   leased   zset  "<uuid>|<task>" by lease expiry
--   seq      counter of submissions (FIFO among equal priorities)
--   signal   list of wake-up tokens
-- A message keeps its ready score until it is retried, so an expired lease or a release puts it
-- back in its original place.

--@ reader
local K, A = 0, 0
local function key() K = K + 1; return KEYS[K] end
local function arg() A = A + 1; return ARGV[A] end
--@ keys: reader
local function keys(n)
  local t = {}
  for i = 1, n do t[i] = KEYS[K + i] end
  K = K + n
  return t
end
--@ args: reader
local function args(n)
  local t = {}
  for i = 1, n do t[i] = ARGV[A + i] end
  A = A + n
  return t
end

--@ consts
local SPAN = 4294967296    -- priority * 2^32 + sequence: exact in a double
local SIGNAL_MAX = 64      -- wake-up tokens kept per queue
local BATCH_MAX = 1000     -- values given to one unpack() (Lua's stack holds ~8000)

--@ queue_block: reader
-- keys: slots, ready, delayed, leased, seq, signal ; args: prefix of the queue's body keys
local function queue_block()
  local q = {slots = KEYS[K + 1], ready = KEYS[K + 2], delayed = KEYS[K + 3],
             leased = KEYS[K + 4], seq = KEYS[K + 5], signal = KEYS[K + 6], bodies = ARGV[A + 1]}
  K = K + 6
  A = A + 1
  return q
end

--@ body_key
local function body_key(q, uuid, task) return q.bodies .. task .. ':messages:' .. uuid end
--@ split_member
-- A member is "<uuid>|<task>": task names cannot hold '|', uuids may.
local function split_member(m) return string.match(m, '^(.*)|([^|]*)$') end
--@ slot_score
local function slot_score(slot) return string.match(slot, '^([^|]*)|') end
--@ slot_task
local function slot_task(slot) return string.match(slot, '^[^|]*|(.*)$') end

--@ wake: consts
-- Leave a wake-up token for a blocked consumer (at most SIGNAL_MAX wait; a backlog costs LLEN).
local function wake(signal)
  if redis.call('LLEN', signal) < SIGNAL_MAX then redis.call('RPUSH', signal, '1') end
end

--@ unindex
-- Remove a member from the queue's zsets; a leased member is in no other one.
local function unindex(q, m)
  if redis.call('ZREM', q.leased, m) == 1 then return 1 end
  return redis.call('ZREM', q.ready, m) + redis.call('ZREM', q.delayed, m)
end

--@ drop: unindex
-- Drop an indexed message (zsets and slot); returns 1 if it was indexed.
local function drop(q, uuid, task)
  if unindex(q, uuid .. '|' .. task) == 0 then return 0 end
  redis.call('HDEL', q.slots, uuid)
  return 1
end

--@ index: consts unindex slot_task
-- Index a message with a new sequence number: ready if due at now, else delayed.
-- Whatever was indexed under its uuid before (its slot: old) is replaced.
-- Returns the sequence number.
local function index(q, uuid, task, prio, ready_at, now, old)
  if old then unindex(q, uuid .. '|' .. slot_task(old)) end
  local seq = redis.call('INCR', q.seq)
  local score = string.format('%.0f', prio * SPAN + seq % SPAN)
  local m = uuid .. '|' .. task
  redis.call('HSET', q.slots, uuid, score .. '|' .. task)
  if tonumber(ready_at) <= now then
    redis.call('ZADD', q.ready, score, m)
  else
    redis.call('ZADD', q.delayed, ready_at, m)
  end
  return seq
end

--@ submit_one: queue_block keys args consts slot_task body_key unindex wake
-- keys: queue block, body, queue set ; args: queue block, body bytes, uuid, task, priority,
-- ready_at, queue name. Returns false (and writes nothing but a sequence number) if a live body
-- with this uuid exists in the queue (under this task or another). The common case costs SET,
-- INCR, HSETNX, ZADD and the wake-up.
local function submit_one(now)
  local q = queue_block()
  local k = keys(2)
  local a = args(6)
  local uuid, task = a[2], a[3]
  if not redis.call('SET', k[1], a[1], 'NX') then return false end
  local seq = redis.call('INCR', q.seq)
  -- The counter and the queue set are created together (and only cleared together).
  if seq == 1 then redis.call('SADD', k[2], a[6]) end
  local score = string.format('%.0f', tonumber(a[4]) * SPAN + seq % SPAN)
  if redis.call('HSETNX', q.slots, uuid, score .. '|' .. task) == 0 then
    -- A slot under this uuid already: another task's live message wins, a stale one is replaced.
    local old_task = slot_task(redis.call('HGET', q.slots, uuid))
    if old_task ~= task and redis.call('EXISTS', body_key(q, uuid, old_task)) == 1 then
      redis.call('DEL', k[1])
      return false
    end
    unindex(q, uuid .. '|' .. old_task)
    redis.call('HSET', q.slots, uuid, score .. '|' .. task)
  end
  if tonumber(a[5]) <= now then
    redis.call('ZADD', q.ready, score, uuid .. '|' .. task)
  else
    redis.call('ZADD', q.delayed, a[5], uuid .. '|' .. task)
  end
  wake(q.signal)
  return true
end

--@ apply_effects: reader keys args consts submit_one
-- args: #writes, #deletes, #submits, #publishes; then per write one key and (value, ttl or '');
-- the delete keys; per submit submit_one's keys and args; per publish (channel, value).
-- Submits of messages already stored are skipped: a redelivered ack stays idempotent.
local function apply_effects(now)
  local c = args(4)
  for _ = 1, tonumber(c[1]) do
    local k = key()
    local w = args(2)
    if w[2] == '' then
      redis.call('SET', k, w[1])
    elseif tonumber(w[2]) > 0 then
      redis.call('SET', k, w[1], 'PX', w[2])
    else
      redis.call('DEL', k)
    end
  end
  local deletes = keys(tonumber(c[2]))
  for first = 1, #deletes, BATCH_MAX do
    redis.call('DEL', unpack(deletes, first, math.min(first + BATCH_MAX - 1, #deletes)))
  end
  for _ = 1, tonumber(c[3]) do submit_one(now) end
  for _ = 1, tonumber(c[4]) do
    local p = args(2)
    redis.call('PUBLISH', p[1], p[2])
  end
end

--@ ack_one: queue_block drop
-- keys: queue block, body ; args: queue block, uuid, task. Returns 1 if it was stored.
local function ack_one()
  local q = queue_block()
  local body = key()
  local uuid = arg()
  local task = arg()
  local existed = redis.call('DEL', body)
  local indexed = drop(q, uuid, task)
  if existed + indexed > 0 then return 1 end
  return 0
end

--@ ack_group: queue_block consts drop apply_effects
-- args: queue block, n, then per message uuid, task and '1' followed by apply_effects' (keys
-- likewise), or '0' without effects. Effects are applied in order as they are read (the script
-- is atomic, so no one sees the order); then every body, index entry and slot of the group is
-- dropped with a handful of commands whatever n is. A message not leased any more (its lease
-- lapsed and it went back to ready or delayed) takes the one-by-one path.
local function ack_group(now)
  local q = queue_block()
  local n = tonumber(arg())
  local bodies, members, uuids, tasks = {}, {}, {}, {}
  for i = 1, n do
    local uuid, task = arg(), arg()
    uuids[i], tasks[i], members[i] = uuid, task, uuid .. '|' .. task
    bodies[i] = q.bodies .. task .. ':messages:' .. uuid
    if arg() == '1' then apply_effects(now) end
  end
  for first = 1, n, BATCH_MAX do
    local last = math.min(first + BATCH_MAX - 1, n)
    redis.call('DEL', unpack(bodies, first, last))
    local scores = redis.call('ZMSCORE', q.leased, unpack(members, first, last))
    local leased, slots = {}, {}
    for i = first, last do
      if scores[i - first + 1] then
        leased[#leased + 1] = members[i]
        slots[#slots + 1] = uuids[i]
      else
        drop(q, uuids[i], tasks[i])
      end
    end
    if #leased > 0 then
      redis.call('ZREM', q.leased, unpack(leased))
      redis.call('HDEL', q.slots, unpack(slots))
    end
  end
end

--@ promote: consts
-- The claim sections inline the small helpers above (split_member, slot_score, body_key): every
-- closure is rebuilt at each call, and claims are the hot path.
-- Move members of zset scored <= now back to ready, at their own ready scores, in batches.
-- Returns the zset's earliest remaining score.
local function promote(q, zset, now)
  while true do
    local first = redis.call('ZRANGE', zset, 0, 0, 'WITHSCORES')[2]
    if not first then return nil end
    first = tonumber(first)
    if first > now then return first end
    local due = redis.call('ZRANGEBYSCORE', zset, '-inf', now, 'LIMIT', 0, BATCH_MAX)
    redis.call('ZREM', zset, unpack(due))
    local uuids = {}
    -- split_member; a member written by hand that is not "<uuid>|<task>" keeps its text
    for i, m in ipairs(due) do uuids[i] = string.match(m, '^(.*)|') or m end
    local slots = redis.call('HMGET', q.slots, unpack(uuids))
    local za = {}
    for i, m in ipairs(due) do
      if slots[i] then
        local score = string.match(slots[i], '^([^|]*)|')  -- slot_score
        local n = tonumber(score)
        if not n or n ~= n then score = '0' end  -- a slot written by hand: claim it first
        za[#za + 1] = score
        za[#za + 1] = m
      end
    end
    if #za > 0 then redis.call('ZADD', q.ready, unpack(za)) end
  end
end

--@ lease: consts
-- Lease up to want ready messages of q; append (queue index, member, body) to out, with body
-- false for a member whose body vanished (it is dropped). Returns how many were leased.
local function lease(q, qi, want, until_arg, out)
  local got = 0
  while got < want do
    local ask = math.min(want - got, BATCH_MAX)  -- unpack() takes a few thousand values at most
    local popped = redis.call('ZPOPMIN', q.ready, ask)
    local n = #popped / 2
    if n < ask then redis.call('DEL', q.signal) end
    if n == 0 then break end
    local names, members, uuids = {}, {}, {}
    for i = 1, n do
      local m = popped[2 * i - 1]
      local uuid, task = string.match(m, '^(.*)|([^|]*)$')  -- split_member
      if not uuid then uuid, task = m, '' end  -- not "<uuid>|<task>": no body, so dropped
      members[i], uuids[i] = m, uuid
      names[i] = q.bodies .. task .. ':messages:' .. uuid  -- body_key
    end
    local raws = redis.call('MGET', unpack(names))
    local za, gone = {}, {}
    for i = 1, n do
      out[#out + 1] = qi
      out[#out + 1] = members[i]
      out[#out + 1] = raws[i]
      if raws[i] then
        za[#za + 1] = until_arg
        za[#za + 1] = members[i]
      else
        gone[#gone + 1] = uuids[i]
      end
    end
    if #gone > 0 then redis.call('HDEL', q.slots, unpack(gone)) end
    if #za > 0 then redis.call('ZADD', q.leased, unpack(za)) end
    got = got + #za / 2
    if n < ask then break end
  end
  return got
end

--@ lease_tasks: consts wake
-- Like lease, for a consumer that runs only the tasks in wanted (a set of names): members of
-- other tasks stay ready, in place. It scans at most SCAN_MAX ready members, best first, and
-- leaves a wake-up token on the task signal ("<signal>:<task>", same hash tag) of every other
-- task it passed over, so that the consumer of those (waiting on its task signals) wakes even
-- though this one consumed the queue's token.
local SCAN_MAX = 1000
local function lease_tasks(q, qi, want, until_arg, out, wanted)
  local got, rank, passed = 0, 0, {}
  while got < want and rank < SCAN_MAX do
    local batch = redis.call('ZRANGE', q.ready, rank, rank + 99)
    if #batch == 0 then break end
    local names, members, uuids = {}, {}, {}
    for _, m in ipairs(batch) do
      local uuid, task = string.match(m, '^(.*)|([^|]*)$')  -- split_member
      if uuid and wanted[task] and #members < want - got then
        members[#members + 1], uuids[#uuids + 1] = m, uuid
        names[#names + 1] = q.bodies .. task .. ':messages:' .. uuid  -- body_key
      elseif uuid and not wanted[task] then
        passed[task] = true
      end
    end
    rank = rank + #batch - #members
    if #members > 0 then
      redis.call('ZREM', q.ready, unpack(members))
      local raws = redis.call('MGET', unpack(names))
      local za, gone = {}, {}
      for i = 1, #members do
        out[#out + 1] = qi
        out[#out + 1] = members[i]
        out[#out + 1] = raws[i]
        if raws[i] then
          za[#za + 1] = until_arg
          za[#za + 1] = members[i]
        else
          gone[#gone + 1] = uuids[i]
        end
      end
      if #gone > 0 then redis.call('HDEL', q.slots, unpack(gone)) end
      if #za > 0 then redis.call('ZADD', q.leased, unpack(za)) end
      got = got + #za / 2
    end
    if #batch < 100 then break end
  end
  if got < want then
    redis.call('DEL', q.signal)
    for task in pairs(wanted) do redis.call('DEL', q.signal .. ':' .. task) end
  end
  for task in pairs(passed) do wake(q.signal .. ':' .. task) end
  return got
end

--@ claim: reader queue_block promote lease lease_tasks
-- args: limit, lease_ms, #tasks, the task names (none: every task), #queues ; then per queue a
-- queue block. Returns {next_due or false, qi1, member1, body1, qi2, ...} (qi counts from 0).
local function claim(now)
  local limit = tonumber(arg())
  local lease_until = now + tonumber(arg())
  local until_arg = string.format('%.0f', lease_until)
  local wanted = nil
  local n_tasks = tonumber(arg())
  if n_tasks > 0 then
    wanted = {}
    for _ = 1, n_tasks do wanted[arg()] = true end
  end
  local out = {false}
  local next_due = nil
  local got = 0
  for qi = 1, tonumber(arg()) do
    local q = queue_block()
    local lmin = promote(q, q.leased, now)
    local dmin = promote(q, q.delayed, now)
    if lmin and (not next_due or lmin < next_due) then next_due = lmin end
    if dmin and (not next_due or dmin < next_due) then next_due = dmin end
    if got < limit then
      local n
      if wanted then
        n = lease_tasks(q, qi - 1, limit - got, until_arg, out, wanted)
      else
        n = lease(q, qi - 1, limit - got, until_arg, out)
      end
      if n > 0 and (not next_due or lease_until < next_due) then next_due = lease_until end
      got = got + n
    end
  end
  if next_due ~= nil then out[1] = next_due end
  return out
end
