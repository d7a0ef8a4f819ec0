/**
 * Lua scripts of the Redis store driver. Each touches only keys of one agent,
 * all sharing the `{type/key}` hash tag, so each runs atomically on one
 * shard, in Redis Cluster too.
 */

/**
 * KEYS: snap inbox seq dedup epoch. ARGV: epoch messageId idempotencyKey('' = none) payload.
 * A duplicate answers the original's message id and seq: a resent append
 * (its first reply lost) tells the activation which entry to queue.
 */
export const APPEND = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local current = tonumber(redis.call('GET', KEYS[5]) or '0')
if current ~= tonumber(ARGV[1]) then return {'stale', current} end
local seen = redis.call('HGET', KEYS[4], 'm:' .. ARGV[2])
if seen then return {'duplicate', ARGV[2], seen} end
if ARGV[3] ~= '' then
  local prior = redis.call('HGET', KEYS[4], 'k:' .. ARGV[3])
  if prior then return {'duplicate', prior, redis.call('HGET', KEYS[4], 'm:' .. prior) or ''} end
end
local seq = redis.call('INCR', KEYS[3])
redis.call('XADD', KEYS[2], '0-' .. seq, 'p', ARGV[4])
redis.call('HSET', KEYS[4], 'm:' .. ARGV[2], seq)
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[4], 'k:' .. ARGV[3], ARGV[2], 'r:' .. ARGV[2], ARGV[3])
end
return {'accepted', seq}
`;

/**
 * KEYS: snap epoch inbox dedup results recent dead deadIndex deadMeta log.
 * ARGV: epoch snapshot processedSeq('' = none) window deadId('' = none) deadEntry deadLimit
 *       logMode('' = none, 'a' = append, 'r' = replace) logBase n entry1..entryN [messageId result]...
 * An append finds the log holding logBase entries (or logBase + these very n
 * entries: this commit, resent after its reply was lost, adds nothing again).
 * The fence check and every write happen in one script: a stale writer
 * changes nothing. Idempotent, so a resend after a lost reply is harmless:
 * it deletes exactly the processed entry (never a range that could hold one
 * not yet run) and records a result only once in the dedup window.
 */
export const COMMIT = `
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if current ~= tonumber(ARGV[1]) then return {'stale', current} end
local mode, n = ARGV[8], tonumber(ARGV[10])
local appendFrom = 11
if mode == 'a' then
  local len, base = redis.call('LLEN', KEYS[10]), tonumber(ARGV[9])
  if len ~= base then
    -- Already there, byte for byte: this very commit, resent.
    local there = len == base + n and n > 0
    if there then
      local tail = redis.call('LRANGE', KEYS[10], base, base + n - 1)
      for i = 1, n do if tail[i] ~= ARGV[10 + i] then there = false break end end
    end
    if not there then
      -- A missing agent is stale whatever its log holds.
      if redis.call('EXISTS', KEYS[1]) == 0 then return {'stale', current} end
      return {'log', len}
    end
    appendFrom = 11 + n
  end
end
-- XX checks that the agent exists: nothing has been written yet.
if not redis.call('SET', KEYS[1], ARGV[2], 'XX') then return {'stale', current} end
if mode == 'r' then redis.call('DEL', KEYS[10]) end
for i = appendFrom, 10 + n, 200 do
  redis.call('RPUSH', KEYS[10], unpack(ARGV, i, math.min(i + 199, 10 + n)))
end
if ARGV[3] ~= '' then redis.call('XDEL', KEYS[3], '0-' .. ARGV[3]) end
if ARGV[5] ~= '' and redis.call('HSETNX', KEYS[7], ARGV[5], ARGV[6]) == 1 then
  redis.call('ZADD', KEYS[8], redis.call('HINCRBY', KEYS[9], 'seq', 1), ARGV[5])
  local over = redis.call('ZCARD', KEYS[8]) - tonumber(ARGV[7])
  if over > 0 then
    local old = redis.call('ZPOPMIN', KEYS[8], over)
    for i = 1, #old, 2 do redis.call('HDEL', KEYS[7], old[i]) end
    redis.call('HINCRBY', KEYS[9], 'dropped', over)
  end
end
-- Only a push can take the window past its size: RPUSH answers the length.
local size = 0
for i = 11 + n, #ARGV, 2 do
  if redis.call('HSET', KEYS[5], ARGV[i], ARGV[i + 1]) == 1 then size = redis.call('RPUSH', KEYS[6], ARGV[i]) end
end
for _ = 1, size - tonumber(ARGV[4]) do
  local old = redis.call('LPOP', KEYS[6])
  redis.call('HDEL', KEYS[5], old)
  local key = redis.call('HGET', KEYS[4], 'r:' .. old)
  if key then redis.call('HDEL', KEYS[4], 'm:' .. old, 'k:' .. key, 'r:' .. old)
  else redis.call('HDEL', KEYS[4], 'm:' .. old) end
end
return {'ok', current}
`;

/**
 * KEYS: snap epoch inbox seq dedup results recent placement trace deleted dead deadIndex deadMeta log. ARGV: token.
 * Returns 1 if the agent existed, or if this very delete (same token) already
 * ran: a resend after a lost reply still reports the deletion it made.
 */
export const DELETE = `
local existed = redis.call('DEL', KEYS[1])
if existed == 0 and redis.call('GET', KEYS[10]) == ARGV[1] then return 1 end
redis.call('DEL', KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[11], KEYS[12], KEYS[13], KEYS[14])
redis.call('INCR', KEYS[2])
if existed == 1 then redis.call('SET', KEYS[10], ARGV[1], 'EX', 600) end
return existed
`;

/**
 * KEYS: snap log. ARGV: snapshot entry1..entryN. Writes the first snapshot
 * and log unless the agent exists; 1 also when the stored snapshot is
 * byte-for-byte this one (this create's own resend after a lost reply).
 */
export const CREATE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('DEL', KEYS[2])
  for i = 2, #ARGV, 200 do redis.call('RPUSH', KEYS[2], unpack(ARGV, i, math.min(i + 199, #ARGV))) end
  return 1
end
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
return 0
`;

/**
 * KEYS: dead deadIndex. ARGV: id. Removes one dead letter; 1 if it was there.
 */
export const DISCARD_DEAD_LETTER = `
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('HDEL', KEYS[1], ARGV[1])
`;
