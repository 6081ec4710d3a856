-- Shared sections of the alsek scripts. A section starts at a line "--@ name: needs..." and runs
-- to the next one; a script names the sections it calls on its first line ("--@uses: ..."), and
-- is loaded as those sections (with what they need, in this file's order) followed by its own
-- text: Redis runs the whole chunk at every call, so each section costs its closures every time.
-- Keys and arguments are read in order through key()/keys(n) and arg()/args(n), so sections
-- compose: ack_claim.lua is the ack section followed by the claim section.
--
-- Time: the first argument of every script is the caller's now in ms, or '' to read the
-- server's clock (TIME): a backend on the system clock sends '', so leases and due times of
-- workers whose clocks disagree are all on Redis' one clock. A delay comes as a wait relative to
-- now, and the next due time goes back as a wait, never as an absolute time of another clock.
--
-- Scripts that fail halfway: Redis does not roll back a script's earlier writes, so every
-- script runs what can fail (type checks by reads, INCR) before its first write, adds new index
-- entries before it removes old ones, and stores an operation's effect submits (which can fail)
-- before its own writes. A claim isolates queues: one whose keys are of the wrong type is
-- skipped and named in the reply; the other queues are served.
--
-- Per queue (all under the queue's hash tag):
--   slots    hash  uuid -> "<ready score>|<task>" (every indexed message), or
--                  "<ready score>|<task>|<owner>" while leased by the holder of token <owner>
--   ready    zset  "<uuid>|<task>" by ready score (priority * 2^32 + sequence)
--   delayed  zset  "<uuid>|<task>" by ready_at
--   leased   zset  "<uuid>|<task>" by lease expiry
--   seq      counter of submissions (FIFO among equal priorities)
--   signal   list of wake-up tokens
-- A message keeps its ready score until it is retried, so an expired lease or a release puts it
-- back in its original place. A member is in exactly one of the three zsets.

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

--@ clock: reader
-- The server's clock in ms (Redis >= 5 replicates a script by its effects, so reading TIME
-- before writing is safe).
local function server_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The first argument: the caller's now (ms), or '' for the server's. lazy: return nil for ''
-- (the script reads the clock only if it needs it, with server_now()).
local function read_now(lazy)
  local given = arg()
  if given ~= '' then return tonumber(given) end
  if lazy then return nil end
  return server_now()
end

--@ consts
local SPAN = 4294967296    -- priority * 2^32 + sequence: exact in a double
local SIGNAL_MAX = 64      -- wake-up tokens kept per queue
local BATCH_MAX = 1000     -- values given to one unpack() (Lua's stack holds ~8000)
local SUBMIT_KEYS, SUBMIT_ARGS = 8, 7  -- what one submission reads (queue block, body, queue set)

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
--@ slot_score
local function slot_score(slot) return string.match(slot, '^([^|]*)|') end
--@ slot_task
local function slot_task(slot) return string.match(slot, '^[^|]*|([^|]*)') end

--@ owned
-- Whether the holder of token may act on a lease whose slot is slot: an empty token (an admin
-- call) may, and so may anyone on a missing slot (garbage a claim drops). The owner is the
-- slot's last field ("<score>|<task>|<owner>"; neither the score nor the task holds '|').
local function owned(slot, token)
  if token == '' or not slot then return true end
  local n = #token
  return string.byte(slot, -n - 1) == 124 and string.sub(slot, -n) == token
end

--@ wake: consts
-- Leave a wake-up token for a blocked consumer (at most SIGNAL_MAX wait; a backlog costs LLEN).
-- A signal key of the wrong type only costs the wake-up (consumers also wait with a timeout).
local function wake(signal)
  local n = redis.pcall('LLEN', signal)
  if type(n) == 'number' and n < SIGNAL_MAX then redis.pcall('RPUSH', signal, '1') end
end

--@ locate
-- The zset of the queue that holds member m, or nil. Reads only: a key of the wrong type fails
-- here, before the caller writes anything.
local function locate(q, m)
  if redis.call('ZSCORE', q.leased, m) then return q.leased end
  if redis.call('ZSCORE', q.ready, m) then return q.ready end
  if redis.call('ZSCORE', q.delayed, m) then return q.delayed end
  return nil
end

--@ register_queue
-- The counter and the queue set are created together (and only cleared together): on the
-- first submission, add the queue's name, or undo the count if that fails.
local function register_queue(seq, q, set, name)
  if seq ~= 1 then return end
  local added = redis.pcall('SADD', set, name)
  if type(added) == 'table' then
    redis.call('DECR', q.seq)
    error(added.err)
  end
end

--@ submit_one: queue_block keys args consts clock slot_task body_key locate register_queue wake
-- keys: queue block, body, queue set ; args: queue block, body bytes, uuid, task, priority,
-- wait (ms from now until ready_at; <= 0: ready), queue name.
-- prepare_submit() reads and checks, and counts the submission (INCR); it returns false (and
-- writes nothing) if a live body with this uuid exists in the queue (under this task or
-- another). write_submit() then indexes before it stores: what fails, fails first; its now may
-- be nil (the server's clock is read if the message waits).
local function prepare_submit()
  local q = queue_block()
  local k = keys(2)
  local a = args(6)
  local s = {q = q, body = k[1], set = k[2], raw = a[1], uuid = a[2], task = a[3],
             prio = tonumber(a[4]), wait = tonumber(a[5]), name = a[6]}
  s.m = s.uuid .. '|' .. s.task
  local old = redis.call('HGET', q.slots, s.uuid)
  if redis.call('EXISTS', s.body) == 1 then return false end
  if old then
    -- A slot under this uuid already: another task's live message wins, a stale one goes.
    local old_task = slot_task(old) or ''
    if old_task ~= s.task and redis.call('EXISTS', body_key(q, s.uuid, old_task)) == 1 then
      return false
    end
    s.old_m = s.uuid .. '|' .. old_task
    s.old_where = locate(q, s.old_m)
  end
  s.seq = redis.call('INCR', q.seq)
  return s
end

local function write_submit(s, now)
  local q = s.q
  local score = string.format('%.0f', s.prio * SPAN + s.seq % SPAN)
  register_queue(s.seq, q, s.set, s.name)
  local target = q.ready
  if s.wait <= 0 then
    redis.call('ZADD', q.ready, score, s.m)
  else
    target = q.delayed
    redis.call('ZADD', q.delayed, string.format('%.0f', (now or server_now()) + s.wait), s.m)
  end
  redis.call('HSET', q.slots, s.uuid, score .. '|' .. s.task)
  redis.call('SET', s.body, s.raw)
  if s.old_where and (s.old_where ~= target or s.old_m ~= s.m) then
    redis.call('ZREM', s.old_where, s.old_m)
  end
  wake(q.signal)
end

--@ effects: reader keys args consts submit_one
-- args: #writes, #deletes, #submits, #publishes; then per write one key and (value, ttl or '');
-- the delete keys; per submit submit_one's keys and args; per publish (channel, value).
-- stage_effects() stores the submits at once (each is whole or not at all; what can fail) and
-- returns the rest for commit_effects(), which the operation calls after its own writes (SET,
-- DEL and PUBLISH cannot fail). Submits of messages already stored are skipped: a redelivered
-- ack stays idempotent.
local function stage_effects(now)
  local c = args(4)
  local nw, nd, ns, np = tonumber(c[1]), tonumber(c[2]), tonumber(c[3]), tonumber(c[4])
  if nw + nd + ns + np == 0 then return false end
  local staged = {writes = {}, publishes = {}, submits = ns}
  for i = 1, nw do
    local k = key()
    local w = args(2)
    staged.writes[i] = {k, w[1], w[2]}
  end
  staged.deletes = keys(nd)
  for _ = 1, ns do
    local s = prepare_submit()
    if s then write_submit(s, now) end
  end
  for i = 1, np do staged.publishes[i] = args(2) end
  return staged
end

local function commit_effects(staged)
  if not staged then return end
  for _, w in ipairs(staged.writes) do
    if w[3] == '' then
      redis.call('SET', w[1], w[2])
    elseif tonumber(w[3]) > 0 then
      redis.call('SET', w[1], w[2], 'PX', w[3])
    else
      redis.call('DEL', w[1])
    end
  end
  local deletes = staged.deletes
  for first = 1, #deletes, BATCH_MAX do
    redis.call('DEL', unpack(deletes, first, math.min(first + BATCH_MAX - 1, #deletes)))
  end
  for _, p in ipairs(staged.publishes) do redis.call('PUBLISH', p[1], p[2]) end
end

-- Pass over effects without applying them (an operation that does nothing); returns whether
-- there were any.
local function skip_effects()
  local nw, nd = tonumber(ARGV[A + 1]), tonumber(ARGV[A + 2])
  local ns, np = tonumber(ARGV[A + 3]), tonumber(ARGV[A + 4])
  A = A + 4
  K = K + nw + nd + SUBMIT_KEYS * ns
  A = A + 2 * nw + SUBMIT_ARGS * ns + 2 * np
  return nw + nd + ns + np > 0
end

--@ unindex
-- Remove member m from the queue's zsets (it is in one at most); returns whether it was there.
local function unindex(q, m)
  if redis.call('ZREM', q.leased, m) == 1 then return true end
  return redis.call('ZREM', q.ready, m) + redis.call('ZREM', q.delayed, m) > 0
end

--@ stale: owned
-- Whether another consumer than the holder of token leases member m now (nothing may change).
local function stale(q, uuid, m, token)
  if owned(redis.call('HGET', q.slots, uuid), token) then return false end
  return redis.call('ZSCORE', q.leased, m) ~= false
end

--@ ack_one: queue_block stale unindex effects
-- keys: queue block, body ; args: queue block, uuid, task, token, then the effects. Returns 1
-- if it was stored, 0 if not (effects applied anyway), -1 if another consumer holds the lease
-- now (nothing written, effects skipped). The effects' submits go first: if one fails, the
-- message is still there to acknowledge again.
local function ack_one(now)
  local q = queue_block()
  local body = key()
  local uuid, task, token = arg(), arg(), arg()
  local m = uuid .. '|' .. task
  if stale(q, uuid, m, token) then
    skip_effects()
    return -1
  end
  local staged = stage_effects(now)
  local indexed = unindex(q, m)
  if indexed then redis.call('HDEL', q.slots, uuid) end
  local existed = redis.call('DEL', body)
  commit_effects(staged)
  if indexed or existed == 1 then return 1 end
  return 0
end

--@ ack_group: queue_block consts owned unindex effects
-- args: queue block, n, then per message uuid, task, token and its effects (keys likewise).
-- Leases are checked for the whole group with a handful of commands; each message's effects are
-- staged on their own (a failure there costs only that message's ack: it stays leased and runs
-- again when the lease lapses); then every body, index entry and slot of the group is dropped.
-- A message not leased any more (its lease lapsed and it went back to ready or delayed) takes
-- the one-by-one path. Appends to lost the 0-based positions (from base) of acks refused
-- because another consumer holds the lease, and to failed {position, error} of acks that
-- failed. Returns the position after the group.
local function ack_group(now, base, lost, failed)
  local q = queue_block()
  local n = tonumber(arg())
  local uuids, tasks, members, tokens, at_k, at_a = {}, {}, {}, {}, {}, {}
  local skip, leased, staged = {}, {}, {}
  for i = 1, n do
    local uuid, task = arg(), arg()
    uuids[i], tasks[i], members[i], tokens[i] = uuid, task, uuid .. '|' .. task, arg()
    local k0, a0 = K, A
    if skip_effects() then at_k[i], at_a[i] = k0, a0 end  -- where its effects start
  end
  local end_k, end_a = K, A
  local function fail_ack(i, err)
    skip[i] = true
    failed[#failed + 1] = base + i - 1
    failed[#failed + 1] = tostring(err)
  end
  for first = 1, n, BATCH_MAX do
    local last = math.min(first + BATCH_MAX - 1, n)
    local ok, scores = pcall(redis.call, 'ZMSCORE', q.leased, unpack(members, first, last))
    local slots
    if ok then ok, slots = pcall(redis.call, 'HMGET', q.slots, unpack(uuids, first, last)) end
    for i = first, last do
      if not ok then
        fail_ack(i, scores)
      elseif scores[i - first + 1] then
        if owned(slots[i - first + 1], tokens[i]) then
          leased[i] = true
        else
          skip[i] = true
          lost[#lost + 1] = base + i - 1
        end
      end
    end
  end
  for i = 1, n do
    if at_k[i] and not skip[i] then
      K, A = at_k[i], at_a[i]
      local ok, result = pcall(stage_effects, now)
      if ok then staged[i] = result else fail_ack(i, result) end
    end
  end
  K, A = end_k, end_a
  local bodies, gone, slots = {}, {}, {}
  for i = 1, n do
    if not skip[i] then
      bodies[#bodies + 1] = q.bodies .. tasks[i] .. ':messages:' .. uuids[i]
      if leased[i] then
        gone[#gone + 1] = members[i]
        slots[#slots + 1] = uuids[i]
      else
        local ok, indexed = pcall(unindex, q, members[i])
        if ok and indexed then redis.call('HDEL', q.slots, uuids[i]) end
      end
    end
  end
  for first = 1, #gone, BATCH_MAX do
    local last = math.min(first + BATCH_MAX - 1, #gone)
    redis.call('ZREM', q.leased, unpack(gone, first, last))
    redis.call('HDEL', q.slots, unpack(slots, first, last))
  end
  for first = 1, #bodies, BATCH_MAX do
    redis.call('DEL', unpack(bodies, first, math.min(first + BATCH_MAX - 1, #bodies)))
  end
  for i = 1, n do
    if staged[i] then commit_effects(staged[i]) end
  end
  return base + n
end

--@ promote: consts
-- The claim sections inline the small helpers above (split_member, slot_score, body_key): every
-- closure is rebuilt at each call, and claims are the hot path.
-- Move at most budget members of zset scored <= now back to ready, at their own ready scores
-- (new entries first, then the old ones go). Returns the zset's earliest remaining score (<= now
-- when the budget ran out) and how many members it moved.
local function promote(q, zset, now, budget)
  local first = redis.call('ZRANGE', zset, 0, 0, 'WITHSCORES')[2]
  local moved = 0
  while first and tonumber(first) <= now and moved < budget do
    local due = redis.call('ZRANGEBYSCORE', zset, '-inf', now, 'LIMIT', 0,
                           math.min(budget - moved, BATCH_MAX))
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
    redis.call('ZREM', zset, unpack(due))  -- members without a slot are garbage: dropped
    moved = moved + #due
    first = redis.call('ZRANGE', zset, 0, 0, 'WITHSCORES')[2]
  end
  return first and tonumber(first), moved
end

--@ lease: consts
-- Lease up to want ready messages of q to the holder of token, looking at no more than budget
-- index entries; append (queue index, member, body) to out, with body false for a member whose
-- body vanished (it is dropped). What can fail comes first: HLEN checks the slots' type and
-- ZPOPMIN the ready set's (promote checked the leased set's), so no write after the pop fails.
-- Returns how many were leased, how many entries it looked at, and whether it stopped at the
-- budget.
local function lease(q, qi, want, until_arg, token, budget, out)
  local got, seen = 0, 0
  redis.call('HLEN', q.slots)
  while got < want and seen < budget do
    local ask = math.min(want - got, budget - seen, BATCH_MAX)
    local top = redis.call('ZPOPMIN', q.ready, ask)
    local n = #top / 2
    if n < ask then redis.call('DEL', q.signal) end
    if n == 0 then break end
    local names, members, uuids, tasks = {}, {}, {}, {}
    for i = 1, n do
      local m = top[2 * i - 1]
      local uuid, task = string.match(m, '^(.*)|([^|]*)$')  -- split_member
      if not uuid then uuid, task = m, '' end  -- not "<uuid>|<task>": no body, so dropped
      members[i], uuids[i], tasks[i] = m, uuid, task
      names[i] = q.bodies .. task .. ':messages:' .. uuid  -- body_key
    end
    local raws = redis.call('MGET', unpack(names))
    local za, hs, gone = {}, {}, {}
    for i = 1, n do
      out[#out + 1] = qi
      out[#out + 1] = members[i]
      out[#out + 1] = raws[i]
      if raws[i] then
        za[#za + 1] = until_arg
        za[#za + 1] = members[i]
        hs[#hs + 1] = uuids[i]
        hs[#hs + 1] = top[2 * i] .. '|' .. tasks[i] .. '|' .. token
      else
        gone[#gone + 1] = uuids[i]
      end
    end
    if #hs > 0 then redis.call('HSET', q.slots, unpack(hs)) end
    if #za > 0 then redis.call('ZADD', q.leased, unpack(za)) end
    if #gone > 0 then redis.call('HDEL', q.slots, unpack(gone)) end
    got = got + #za / 2
    seen = seen + n
    if n < ask then return got, seen, false end
  end
  return got, seen, seen >= budget
end

--@ lease_tasks: consts wake
-- Like lease, for a consumer that runs only the tasks in wanted (a set of names): members of
-- other tasks stay ready, in place. It looks at no more than budget ready entries, best first,
-- and leaves a wake-up token on the task signal ("<signal>:<task>", same hash tag) of every
-- other task it passed over, so that the consumers of those (waiting on their task signals) wake
-- even though this one consumed the queue's token. It never asks to be called straight back: the
-- entries it passed over would only be looked at again.
local function lease_tasks(q, qi, want, until_arg, token, budget, out, wanted)
  local got, seen, rank, passed = 0, 0, 0, {}
  redis.call('HLEN', q.slots)  -- a damaged slots hash fails here, before any write
  while got < want and seen < budget do
    local ask = math.min(budget - seen, 100)
    local top = redis.call('ZRANGE', q.ready, rank, rank + ask - 1, 'WITHSCORES')
    local n = #top / 2
    if n == 0 then break end
    local names, members, uuids, tasks, scores = {}, {}, {}, {}, {}
    for i = 1, n do
      local m = top[2 * i - 1]
      local uuid, task = string.match(m, '^(.*)|([^|]*)$')  -- split_member
      if uuid and wanted[task] and #members < want - got then
        local k = #members + 1
        members[k], uuids[k], tasks[k], scores[k] = m, uuid, task, top[2 * i]
        names[k] = q.bodies .. task .. ':messages:' .. uuid  -- body_key
      elseif uuid and not wanted[task] then
        passed[task] = true
      end
    end
    seen = seen + n
    rank = rank + n - #members
    if #members > 0 then
      local raws = redis.call('MGET', unpack(names))
      local za, hs, gone = {}, {}, {}
      for i = 1, #members do
        out[#out + 1] = qi
        out[#out + 1] = members[i]
        out[#out + 1] = raws[i]
        if raws[i] then
          za[#za + 1] = until_arg
          za[#za + 1] = members[i]
          hs[#hs + 1] = uuids[i]
          hs[#hs + 1] = scores[i] .. '|' .. tasks[i] .. '|' .. token
        else
          gone[#gone + 1] = uuids[i]
        end
      end
      if #hs > 0 then redis.call('HSET', q.slots, unpack(hs)) end
      if #za > 0 then redis.call('ZADD', q.leased, unpack(za)) end
      redis.call('ZREM', q.ready, unpack(members))
      if #gone > 0 then redis.call('HDEL', q.slots, unpack(gone)) end
      got = got + #za / 2
    end
    if n < ask then break end
  end
  if got < want then
    redis.call('DEL', q.signal)
    for task in pairs(wanted) do redis.call('DEL', q.signal .. ':' .. task) end
  end
  for task in pairs(passed) do wake(q.signal .. ':' .. task) end
  return got, seen, false
end

--@ claim: reader consts queue_block promote lease lease_tasks
-- args: limit, lease_ms, token, #tasks, the task names (none: every task), #queues ; then per
-- queue a queue block. With task names, only their messages are leased (see lease_tasks).
-- Work is capped per call (promotions and index entries looked at: a few times the limit, at
-- most about a thousand), so a backlog of due messages never blocks Redis; when work is left,
-- the next due time is now and the consumer comes straight back.
-- Returns {next due (ms from now) or false, lost, failed, broken, qi1, member1, body1, ...}
-- (qi counts from 0): lost and failed as ack_group fills them; broken {qi, error, ...} names the
-- queues skipped because a key of theirs holds the wrong type.
local function claim(now, lost, failed)
  local limit = tonumber(arg())
  local lease_until = now + tonumber(arg())
  local token = arg()
  local until_arg = string.format('%.0f', lease_until)
  local wanted = nil
  local n_tasks = tonumber(arg())
  if n_tasks > 0 then
    wanted = {}
    for _ = 1, n_tasks do wanted[arg()] = true end
  end
  local budget = math.min(math.max(4 * limit, 64), BATCH_MAX)
  local out = {false, lost, failed, {}}
  local next_due = nil
  local got = 0
  local function due_at(t)
    if t and (not next_due or t < next_due) then next_due = t end
  end
  local function serve(q, qi)
    local lmin, moved = promote(q, q.leased, now, budget)
    budget = budget - moved
    local dmin
    dmin, moved = promote(q, q.delayed, now, budget)
    budget = budget - moved
    due_at(lmin)
    due_at(dmin)
    if got < limit then
      local n, more, _
      if wanted then  -- passing over other tasks' entries has its own cap: BATCH_MAX
        n, _, more = lease_tasks(q, qi, limit - got, until_arg, token, BATCH_MAX, out, wanted)
      else
        n, _, more = lease(q, qi, limit - got, until_arg, token, limit - got + budget, out)
      end
      if n > 0 then due_at(lease_until) end
      if more then due_at(now) end
      got = got + n
    end
  end
  for qi = 1, tonumber(arg()) do
    local q = queue_block()
    local mark = #out
    local ok, err = pcall(serve, q, qi - 1)
    if not ok then
      for i = #out, mark + 1, -1 do out[i] = nil end  -- a failed lease wrote nothing
      local broken = out[4]
      broken[#broken + 1] = qi - 1
      broken[#broken + 1] = tostring(err)
    end
  end
  if next_due ~= nil then out[1] = next_due - now end
  return out
end
