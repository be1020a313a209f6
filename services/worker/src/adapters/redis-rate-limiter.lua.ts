/**
 * The limiter's Redis script, kept in a TypeScript module so `tsc` ships it in dist/ with the code.
 */
export const RATE_LIMITER_LUA = `
-- GCRA / virtual scheduling, one shared schedule for the whole worker fleet (SPEC §5), with lanes.
-- KEYS[1] theoretical arrival time (ms, string), KEYS[2] pause-until (ms, string),
-- KEYS[3] how many slots were handed out (the sequence number of the last one),
-- KEYS[4] lanes (hash): field <seq> = the latest a committed request may leave (ms; once it has left
--         and said so, its real departure plus ARGV[9]), or 'x' when the request rps places on
--         committed first; field 'c' = the highest sequence number committed
-- ARGV[1] mode: 'reserve' | 'confirm' | 'pause' | 'late' | 'sent'
-- ARGV[2] pause length ms (pause), the caller's slot (confirm, late, sent)
-- ARGV[3] clock override in ms ('' = Redis TIME, the fleet's shared clock; tests inject one)
-- ARGV[4] the latest schedule this process has seen: if Redis lost the key (flush, failover), slots
--         this process still holds are not handed out a second time
-- ARGV[5] the interval between slots (ms), ARGV[6] the requests per second
-- ARGV[7] ms between this script and the request really leaving (late); how long after its slot the
--         request left, measured by the caller once it had handed it to the socket (sent)
-- ARGV[8] the caller's sequence number (confirm, late, sent)
-- ARGV[9] lateness the margin absorbs unreported (a quarter of it)
-- ARGV[10] the caller's lane: 'interactive' (a check someone waits for) or 'roster'
-- KEYS[5] roster reservations not committed yet (zset: member seq, score slot)
--
-- The Ministry counts departures in a sliding second. Any rps + 1 requests include two of one lane
-- (sequence numbers rps apart, pigeonhole), so if each request leaves at least rps intervals minus
-- ARGV[9] after the one rps places before it, no second ever holds more than rps. Slots give that
-- when everyone leaves on time; a late request records its real departure, and the request rps places
-- later waits for it. Only that one lane is held back: the rest of the schedule keeps its pace.

-- Lua numbers are truncated to integers on return, so times go back as strings.
local now
if ARGV[3] ~= '' then
  now = tonumber(ARGV[3])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), tonumber(ARGV[4]) or 0)
local pause = tonumber(redis.call('GET', KEYS[2]) or '0')
local interval = tonumber(ARGV[5])
local rps = tonumber(ARGV[6])
local absorb = tonumber(ARGV[9])
local LANES_TTL = 120000
local SWEEP_AFTER = 10000
local lane = ARGV[10]
-- An interactive caller takes a roster reservation only if its holder is surely still asleep: it wakes
-- 10 ms before its slot to confirm (CONFIRM_LEAD_MS in the caller).
local TAKE_AHEAD = 25
-- A reservation due within the caller's wake-up lead (CONFIRM_LEAD_MS) is committed when reserved.
local COMMIT_AHEAD = 10

local function fmt(x) return string.format('%.3f', x) end

-- When seq may leave at the earliest: its slot, or later if its lane's previous request left late.
local function laneFloor(seq, slot)
  local before = tonumber(redis.call('HGET', KEYS[4], tostring(seq - rps)) or '')
  if before == nil then return slot end
  return math.max(slot, before + rps * interval - absorb)
end

-- seq will leave at slot (plus at most the absorbed lateness, or it reports): its lane's next request
-- is held to that, and the lane's previous request can no longer leave late. Commits happen at the
-- nominal slot (a caller held back by its lane sleeps after committing), so a lane commits in order;
-- should a request still come to commit after its lane's next one did (a stall of a second), its
-- record is a tombstone and it reserves again. Returns false then.
local function commit(seq, slot)
  local key = tostring(seq)
  if redis.call('HGET', KEYS[4], key) == 'x' then
    redis.call('HDEL', KEYS[4], key)
    return false
  end
  redis.call('HSET', KEYS[4], key, fmt(slot + absorb))
  redis.call('HSETNX', KEYS[4], tostring(seq - rps), 'x')
  local committed = tonumber(redis.call('HGET', KEYS[4], 'c') or '0')
  if seq > committed then redis.call('HSET', KEYS[4], 'c', key) end
  redis.call('PEXPIRE', KEYS[4], LANES_TTL)
  return true
end

local function reserve()
  -- A check someone waits for takes the earliest roster reservation whose holder has not woken yet:
  -- same slot, same sequence number (so the same lane), and the roster job reserves again when it
  -- wakes. Otherwise it would wait behind every slot the busy roster jobs hold (WORKER_CONCURRENCY).
  if lane == 'interactive' then
    local held = redis.call('ZRANGEBYSCORE', KEYS[5], now + TAKE_AHEAD, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
    if held[1] then
      redis.call('ZREM', KEYS[5], held[1])
      redis.call('HSET', KEYS[4], 't' .. held[1], '1')
      return { 'slot', fmt(tonumber(held[2]) - now), fmt(now), fmt(tat), held[1] }
    end
  end
  -- The next free slot: never before now, never before the previous slot + interval, never in a pause.
  local slot = math.max(now, tat, pause)
  local nextTat = slot + interval
  local ttl = math.ceil(nextTat - now) + 60000
  redis.call('SET', KEYS[1], fmt(nextTat), 'PX', ttl)
  local seq = redis.call('INCR', KEYS[3])
  redis.call('PEXPIRE', KEYS[3], ttl)
  -- A new count (the fleet idled past its expiry, or Redis lost it): the lanes of the old one are void.
  if seq == 1 then redis.call('DEL', KEYS[4], KEYS[5]) end
  -- Records stay while a reservation rps places on may still read them: SWEEP_AFTER reservations
  -- beyond that (more than any fleet holds at once), none does.
  redis.call('HDEL', KEYS[4], tostring(seq - rps - SWEEP_AFTER), 't' .. (seq - rps - SWEEP_AFTER))
  -- Roster reservations whose holder never confirmed (gone with its process) are dropped a minute on.
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now - 60000)
  -- Due within the caller's wake-up lead (it would confirm at once): committed now, held back for its
  -- lane if need be, and the answer says so ('go'). Later: committed by 'confirm'.
  local at = slot
  local state = 'slot'
  if slot <= now + COMMIT_AHEAD then
    at = laneFloor(seq, slot)
    commit(seq, at)
    state = 'go'
  elseif lane == 'roster' then
    redis.call('ZADD', KEYS[5], slot, tostring(seq))
    redis.call('PEXPIRE', KEYS[5], LANES_TTL)
  end
  return { state, fmt(at - now), fmt(now), fmt(nextTat), tostring(seq) }
end

local mode = ARGV[1]
if mode == 'reserve' then
  return reserve()
elseif mode == 'confirm' then
  -- Called when a caller wakes up just before its slot: a pause that began while it slept and is still
  -- on at the slot voids it (the sequence number is abandoned: it never leaves). Otherwise the slot is
  -- committed, later if its lane's previous request has reported a late departure meanwhile.
  local slot = tonumber(ARGV[2])
  local seq = tonumber(ARGV[8])
  if lane == 'roster' then
    redis.call('ZREM', KEYS[5], tostring(seq))
    -- Taken by an interactive caller while this one slept: a new reservation at the end.
    if redis.call('HDEL', KEYS[4], 't' .. seq) == 1 then return reserve() end
  end
  if pause > slot then return reserve() end
  -- A caller that woke late (a busy event loop) is committed to now, not to the slot it missed.
  local at = math.max(now, laneFloor(seq, slot))
  if not commit(seq, at) then return reserve() end
  return { 'go', fmt(at - now), fmt(now) }
elseif mode == 'late' then
  -- A request about to leave more than ARGV[9] after its committed slot. While the request rps places
  -- later is not committed yet, recording the real departure is enough: that request will wait for it.
  -- Once it is (or the count was lost with Redis's data), this request may not leave: it is forfeit and
  -- the caller reserves a new slot.
  local seq = tonumber(ARGV[8])
  local leaves = now + tonumber(ARGV[7])
  local late = leaves - tonumber(ARGV[2]) - absorb
  if late <= 0 then return { 'go', '0', fmt(now) } end
  local handedOut = tonumber(redis.call('GET', KEYS[3]) or '0')
  local committed = tonumber(redis.call('HGET', KEYS[4], 'c') or '0')
  if handedOut < seq or committed >= seq + rps then
    return { 'forfeit', fmt(late), fmt(now) }
  end
  local recorded = tonumber(redis.call('HGET', KEYS[4], tostring(seq)) or '') or 0
  if leaves > recorded then redis.call('HSET', KEYS[4], tostring(seq), fmt(leaves)) end
  redis.call('PEXPIRE', KEYS[4], LANES_TTL)
  return { 'late', fmt(late), fmt(now) }
elseif mode == 'sent' then
  -- The request has left, ARGV[7] ms after its slot (measured once it was on its socket, so stalls
  -- between the checks above and the write count too). Its record becomes that real departure, plus
  -- the ARGV[9] that laneFloor takes off again: the lane's next request leaves a full rps intervals
  -- after it, instead of the commit's assumption that it left at its slot. Recorded even when that
  -- request has committed already: it reads the record again when it confirms again (held back by its
  -- lane beyond the wake-up lead). Not when the record is gone (Redis lost it) or a tombstone.
  local seq = tonumber(ARGV[8])
  local key = tostring(seq)
  local current = redis.call('HGET', KEYS[4], key)
  if not current or current == 'x' then return { 'moot', '0', fmt(now) } end
  redis.call('HSET', KEYS[4], key, fmt(tonumber(ARGV[2]) + tonumber(ARGV[7]) + absorb))
  return { 'sent', '0', fmt(now) }
else
  local untilMs = now + tonumber(ARGV[2])
  if untilMs > pause then
    redis.call('SET', KEYS[2], fmt(untilMs), 'PX', math.ceil(untilMs - now) + 1000)
    return { 'extended', fmt(untilMs - now), fmt(now) }
  end
  return { 'covered', fmt(pause - now), fmt(now) }
end
`;
