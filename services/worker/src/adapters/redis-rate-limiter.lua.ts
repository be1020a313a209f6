/**
 * The limiter's Redis script, kept in a TypeScript module so `tsc` ships it in dist/ with the code.
 */
export const RATE_LIMITER_LUA = `
-- GCRA / virtual scheduling, one shared schedule for the whole worker fleet (SPEC §5).
-- KEYS[1] theoretical arrival time (ms, string), KEYS[2] pause-until (ms, string)
-- ARGV[1] mode: 'reserve' | 'confirm' | 'pause'
-- ARGV[2] interval ms between requests (reserve, confirm) or pause length ms (pause)
-- ARGV[3] clock override in ms ('' = Redis TIME, the fleet's shared clock; tests inject one)
-- ARGV[4] the latest schedule this process has seen: if Redis lost the key (flush, failover), slots
--         this process still holds are not handed out a second time

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
  redis.call('SET', KEYS[1], string.format('%.3f', nextTat), 'PX', math.ceil(nextTat - now) + 60000)
  return { 'slot', string.format('%.3f', slot - now), string.format('%.3f', now), string.format('%.3f', nextTat) }
end

local mode = ARGV[1]
if mode == 'reserve' then
  return reserve(tonumber(ARGV[2]))
elseif mode == 'confirm' then
  -- Called when a caller wakes up at its slot: a pause that began while it slept voids the slot.
  if pause > now then return reserve(tonumber(ARGV[2])) end
  return { 'go', '0', string.format('%.3f', now) }
else
  local untilMs = now + tonumber(ARGV[2])
  if untilMs > pause then
    redis.call('SET', KEYS[2], string.format('%.3f', untilMs), 'PX', math.ceil(untilMs - now) + 1000)
    return { 'extended', string.format('%.3f', untilMs - now), string.format('%.3f', now) }
  end
  return { 'covered', string.format('%.3f', pause - now), string.format('%.3f', now) }
end
`;
