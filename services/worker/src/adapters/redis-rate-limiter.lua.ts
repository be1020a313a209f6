/**
 * The limiter's Redis script, kept in a TypeScript module so `tsc` ships it in dist/ with the code.
 */
export const RATE_LIMITER_LUA = `
-- GCRA / virtual scheduling, one shared schedule for the whole worker fleet (SPEC §5).
-- KEYS[1] theoretical arrival time (ms, string), KEYS[2] pause-until (ms, string),
-- KEYS[3] how many slots were handed out (the sequence number of the last one)
-- ARGV[1] mode: 'reserve' | 'confirm' | 'pause' | 'late'
-- ARGV[2] interval ms between requests (reserve), pause length ms (pause), the caller's slot (confirm, late)
-- ARGV[3] clock override in ms ('' = Redis TIME, the fleet's shared clock; tests inject one)
-- ARGV[4] the latest schedule this process has seen: if Redis lost the key (flush, failover), slots
--         this process still holds are not handed out a second time
-- ARGV[5] the interval (confirm, late), ARGV[6] (late) the requests per second
-- ARGV[7] (late) ms between this script and the request really leaving, added to the lateness
-- ARGV[8] (late) the late slot's sequence number
-- ARGV[9] (late) lateness the margin absorbs (a quarter of it); only what exceeds it moves the schedule

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

local function reserve(interval)
  -- The next free slot: never before now, never before the previous slot + interval, never in a pause.
  local slot = math.max(now, tat, pause)
  local nextTat = slot + interval
  local ttl = math.ceil(nextTat - now) + 60000
  redis.call('SET', KEYS[1], string.format('%.3f', nextTat), 'PX', ttl)
  local seq = redis.call('INCR', KEYS[3])
  redis.call('PEXPIRE', KEYS[3], ttl)
  return { 'slot', string.format('%.3f', slot - now), string.format('%.3f', now), string.format('%.3f', nextTat), tostring(seq) }
end

local mode = ARGV[1]
if mode == 'reserve' then
  return reserve(tonumber(ARGV[2]))
elseif mode == 'confirm' then
  -- Called when a caller wakes up just before its slot: a pause that began while it slept and is still
  -- on at the slot voids it.
  if pause > tonumber(ARGV[2]) then return reserve(tonumber(ARGV[5])) end
  return { 'go', '0', string.format('%.3f', now) }
elseif mode == 'late' then
  -- A request about to leave more than ARGV[9] after its slot (the caller does not ask for less: the
  -- margin absorbs it). The window stays safe if the slot rps places after this one is at least rps
  -- intervals minus ARGV[9] after the real departure. While that slot is not handed out yet it will
  -- be at least tat + (rps - after - 1) intervals, so the schedule must move by whatever of the
  -- lateness the slack already in it (earlier moves, idle gaps) does not cover; a run of equally late
  -- departures moves it once, not once each. Once that slot is handed out (or the count was lost with
  -- Redis's data), the slot is forfeit and the caller reserves a new one.
  local slot = tonumber(ARGV[2])
  local interval = tonumber(ARGV[5])
  local late = now - slot + tonumber(ARGV[7]) - tonumber(ARGV[9])
  if late <= 0 then return { 'go', '0', string.format('%.3f', now) } end
  local after = tonumber(redis.call('GET', KEYS[3]) or '0') - tonumber(ARGV[8])
  if after < 0 or after >= tonumber(ARGV[6]) then
    return { 'forfeit', string.format('%.3f', late), string.format('%.3f', now) }
  end
  local slack = tat - slot - (after + 1) * interval
  if late <= slack then return { 'late', '0', string.format('%.3f', now) } end
  late = late - math.max(0, slack)
  local nextTat = tat + late
  redis.call('SET', KEYS[1], string.format('%.3f', nextTat), 'PX', math.ceil(nextTat - now) + 60000)
  return { 'late', string.format('%.3f', late), string.format('%.3f', now), string.format('%.3f', nextTat) }
else
  local untilMs = now + tonumber(ARGV[2])
  if untilMs > pause then
    redis.call('SET', KEYS[2], string.format('%.3f', untilMs), 'PX', math.ceil(untilMs - now) + 1000)
    return { 'extended', string.format('%.3f', untilMs - now), string.format('%.3f', now) }
  end
  return { 'covered', string.format('%.3f', pause - now), string.format('%.3f', now) }
end
`;
