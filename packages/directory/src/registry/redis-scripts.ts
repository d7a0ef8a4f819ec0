/**
 * Lua scripts of the Redis placement registry. Each touches only keys of
 * one agent (`colony:{type/key}:...`, one hash slot), so each runs
 * atomically on one shard, in Redis Cluster too.
 *
 * A placement is the hash {host, epoch, since}. It is live only while its
 * epoch is the agent's fence (the epoch key the store's commits and appends
 * check): anything else that advanced the fence (deleting the agent, a claim
 * outside the registry) voided it, and a void placement reads as none.
 */

/**
 * The compare-and-set. KEYS: placement epoch snap. ARGV: host now
 * replaceHost replaceEpoch ('' '' = no replace).
 * Returns {'missing'} | {'existing', host, epoch, since} |
 * {'placed', epoch, previousHost ('' = none)}.
 */
export const REGISTER = `
if redis.call('EXISTS', KEYS[3]) == 0 then
  redis.call('DEL', KEYS[1])
  return {'missing'}
end
local fence = tonumber(redis.call('GET', KEYS[2]) or '0')
local cur = redis.call('HMGET', KEYS[1], 'host', 'epoch', 'since')
local previous = ''
if cur[1] then
  local epoch = tonumber(cur[2])
  local replaced = ARGV[3] ~= '' and cur[1] == ARGV[3] and epoch == tonumber(ARGV[4])
  if epoch == fence and not replaced then return {'existing', cur[1], cur[2], cur[3]} end
  previous = cur[1]
end
local epoch = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'host', ARGV[1], 'epoch', epoch, 'since', ARGV[2])
return {'placed', epoch, previous}
`;

/**
 * KEYS: placement epoch. ARGV: epoch. Releases the placement if it has this
 * epoch: deletes it and advances the fence past it, so nothing can start or
 * write at the released epoch any more (a cached route to it meets a stale
 * fence, not an unplaced agent it could activate beside a new placement).
 * Returns its host, or false. Safe to run twice (a resend after a lost
 * reply): the second run finds no placement at this epoch and does nothing.
 */
export const UNREGISTER = `
local cur = redis.call('HMGET', KEYS[1], 'host', 'epoch')
if cur[1] and tonumber(cur[2]) == tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  if tonumber(redis.call('GET', KEYS[2]) or '0') == tonumber(ARGV[1]) then redis.call('INCR', KEYS[2]) end
  return cur[1]
end
return false
`;

/** KEYS: placement epoch. Returns {host, epoch, since} if the placement is live, else false. */
export const GET = `
local cur = redis.call('HMGET', KEYS[1], 'host', 'epoch', 'since')
if cur[1] and tonumber(cur[2]) == tonumber(redis.call('GET', KEYS[2]) or '0') then return cur end
return false
`;
