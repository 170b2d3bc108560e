/**
 * The Lua scripts of the event log. Each runs atomically, which is what lets
 * an append record its predecessor and a read validate a resume id against
 * the same state it pages from. APPEND and READ touch one stream key;
 * APPEND_ONCE touches the stream and its publish key's record (one Redis;
 * a Redis Cluster is refused at start-up).
 *
 * They are sent with EVAL, not EVALSHA: a script cache flushed by a Redis
 * restart would otherwise turn into NOSCRIPT retries that can reorder
 * pipelined appends.
 */

/** `(cutoff)` in ms from Redis' own clock, the same clock that stamps stream ids. */
const CUTOFF = `
local function cutoff(maxAgeMs)
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(maxAgeMs)
end
`;

/** The body of APPEND as a Lua function, shared by APPEND and APPEND_ONCE. */
const APPEND_FUNCTION = `
local function append(key, payload, maxCount, maxAgeMs)
  local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
  local prev = '0-0'
  if #last > 0 then prev = last[1][1] end
  local minid = nil
  if maxAgeMs ~= '' then
    local c = cutoff(maxAgeMs)
    if c > 0 then minid = string.format('%.0f', c) end
  end
  local id
  if maxCount ~= '' then
    id = redis.call('XADD', key, 'MAXLEN', '~', maxCount, '*', 'p', payload, 'r', prev)
    if minid then redis.call('XTRIM', key, 'MINID', '~', minid) end
  elseif minid then
    id = redis.call('XADD', key, 'MINID', '~', minid, '*', 'p', payload, 'r', prev)
  else
    id = redis.call('XADD', key, '*', 'p', payload, 'r', prev)
  end
  return id
end
`;

/**
 * Appends one event. KEYS[1] = stream; ARGV = payload, maxCount ('' = none),
 * maxAgeMs ('' = none). Each entry carries `r`, the id of the entry before it,
 * so that once trimming has removed that one, the store still knows exactly
 * which resume id is "just before the oldest kept event" (a complete resume)
 * and which ones are older (HISTORY_GONE). Trimming is Redis' approximate
 * `MAXLEN ~` / `MINID ~`: whole radix-tree nodes, no node splitting.
 */
export const APPEND_SCRIPT = `${CUTOFF}${APPEND_FUNCTION}
return append(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
`;

/**
 * Appends one event under a publish key, atomically with the key's record
 * (what makes a keyed mutation exactly-once across a crash between storing
 * its event and recording its answer). KEYS[1] = stream, KEYS[2] = the
 * key's record (a hash { i = event id, c = channel } expiring after its
 * TTL); ARGV = payload, maxCount, maxAgeMs (as APPEND), ttl ms, channel.
 * Returns {0, id} when appended; {1, id, channel, fields | false} when the
 * key was recorded: nothing is appended, and the stored entry's fields come
 * back when it is on this stream and still retained.
 *
 * It touches two keys: fine on one Redis (Cluster is refused at start-up).
 */
export const APPEND_ONCE_SCRIPT = `${CUTOFF}${APPEND_FUNCTION}
local known = redis.call('HMGET', KEYS[2], 'i', 'c')
if known[1] then
  local stored = false
  if known[2] == ARGV[5] then
    local e = redis.call('XRANGE', KEYS[1], known[1], known[1])
    if #e > 0 then stored = e[1][2] end
  end
  return {1, known[1], known[2], stored}
end
local id = append(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[2], 'i', id, 'c', ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return {0, id}
`;

/**
 * Reads a page. KEYS[1] = stream; ARGV = after ('' = from the oldest retained),
 * limit, maxAgeMs ('' = none). Returns { first entry | false, last id | false,
 * newest expired id | false, entries }; with `after`, the entries start AT it
 * (inclusive, limit + 1) so the caller can tell whether it exists.
 * Approximate trimming may leave expired entries in the stream: they are
 * skipped here, so age retention is exact for readers.
 */
export const READ_SCRIPT = `${CUTOFF}
local key = KEYS[1]
local limit = tonumber(ARGV[2])
local expired = false
local start = '-'
if ARGV[3] ~= '' then
  local c = cutoff(ARGV[3])
  if c > 0 then
    local ms = string.format('%.0f', c)
    start = ms .. '-0'
    local e = redis.call('XREVRANGE', key, '(' .. ms .. '-0', '-', 'COUNT', 1)
    if #e > 0 then expired = e[1][1] end
  end
end
if ARGV[1] == '' then
  if limit == 0 then return {false, false, expired, {}} end
  return {false, false, expired, redis.call('XRANGE', key, start, '+', 'COUNT', limit)}
end
local first = redis.call('XRANGE', key, '-', '+', 'COUNT', 1)
if #first == 0 then return {false, false, expired, {}} end
local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
return {first[1], last[1][1], expired, redis.call('XRANGE', key, ARGV[1], '+', 'COUNT', limit + 1)}
`;
