/**
 * The Lua script that makes each `RedisSessionStore` write of a session atomic, and the key layout it writes.
 * Every key lives under the pool's prefix P:
 *
 *   P live          set of live session ids (its size is the fleet's pool size)
 *   P s:<id>        hash: rec (context JSON without counters), u (usageCount), e (errorScore), mu, me, exp, bu,
 *                   retired, reason, retiredAt, jv (cookie jar version), cu:<store>/ce:<store> (what each store
 *                   instance has contributed to u and e: a resent or retried write is applied once)
 *   P j:<id>        hash: one field per cookie (`domain;path;name` → cookie JSON)
 *   P retired       sorted set: retired id → retirement time (ms), trimmed after the tombstone TTL
 *   P meta          hash: createdCount, retiredCount
 *
 * The script builds keys from the prefix passed in ARGV, so it targets one Redis node (no Cluster; a fleet on a
 * Cluster is `redisFleet()`'s, whose scripts declare their keys).
 */
import type { Redis } from 'ioredis';

const PRELUDE = `
local P = ARGV[1]
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function num(v, d)
  local n = tonumber(v)
  if n == nil then return d end
  return n
end
local function retire(id, h, why, now, ttl)
  redis.call('HSET', h, 'retired', 1, 'reason', why, 'retiredAt', now)
  redis.call('SREM', P .. 'live', id)
  redis.call('ZADD', P .. 'retired', now, id)
  redis.call('ZREMRANGEBYSCORE', P .. 'retired', '-inf', now - ttl * 1000)
  redis.call('HINCRBY', P .. 'meta', 'retiredCount', 1)
  redis.call('EXPIRE', h, ttl)
  redis.call('EXPIRE', P .. 'j:' .. id, ttl)
end
`;

/**
 * Writes one session: contributions to the counters (as absolute per-store totals, so a repeat is a no-op),
 * context fields, cookie changes, and retirement (asked for, or implied by the counters). Exactly one caller
 * flips a session to retired.
 * ARGV: P, id, origin, rec, usage, score, maxUsage, maxErr, exp, bu, reason ('' = none), tombstoneTtl,
 * nSets, (field, json)*, nDels, field*.
 * Returns {created, retiredNow}.
 */
const UPSERT = `${PRELUDE}
local id, origin = ARGV[2], ARGV[3]
local h = P .. 's:' .. id
local jk = P .. 'j:' .. id
local now = nowMs()
local ttl = tonumber(ARGV[12])
local created = 0
if redis.call('EXISTS', h) == 0 then
  redis.call('HSET', h, 'rec', ARGV[4], 'u', 0, 'e', '0', 'mu', ARGV[7], 'me', ARGV[8], 'exp', ARGV[9],
    'bu', ARGV[10], 'retired', 0, 'jv', 0)
  redis.call('SADD', P .. 'live', id)
  redis.call('HINCRBY', P .. 'meta', 'createdCount', 1)
  created = 1
end
local retired = redis.call('HGET', h, 'retired') == '1'
local usage, score = tonumber(ARGV[5]), tonumber(ARGV[6])
local du = usage - num(redis.call('HGET', h, 'cu:' .. origin), 0)
if du ~= 0 then
  redis.call('HINCRBY', h, 'u', du)
  redis.call('HSET', h, 'cu:' .. origin, usage)
end
local de = score - num(redis.call('HGET', h, 'ce:' .. origin), 0)
if de ~= 0 then
  local e = num(redis.call('HGET', h, 'e'), 0) + de
  if e < 0 then e = 0 end
  redis.call('HSET', h, 'e', string.format('%.17g', e), 'ce:' .. origin, string.format('%.17g', score))
end
local i = 13
local nSets = tonumber(ARGV[i])
local jarChanged = false
for k = 1, nSets do
  local field, value = ARGV[i + 2 * k - 1], ARGV[i + 2 * k]
  if redis.call('HGET', jk, field) ~= value then
    redis.call('HSET', jk, field, value)
    jarChanged = true
  end
end
i = i + 2 * nSets + 1
local nDels = tonumber(ARGV[i])
for k = 1, nDels do
  if redis.call('HDEL', jk, ARGV[i + k]) == 1 then jarChanged = true end
end
if jarChanged then redis.call('HINCRBY', h, 'jv', 1) end
local retiredNow = 0
-- A deletion that came without the session's context (rec '') changes only the counters and the flag.
if not retired and ARGV[4] ~= '' then
  redis.call('HSET', h, 'rec', ARGV[4], 'mu', ARGV[7], 'me', ARGV[8], 'exp', ARGV[9], 'bu', ARGV[10])
end
if not retired then
  local why = ARGV[11]
  if why == '' then
    if num(redis.call('HGET', h, 'u'), 0) >= num(redis.call('HGET', h, 'mu'), math.huge) then
      why = 'maxUsageCount'
    elseif num(redis.call('HGET', h, 'e'), 0) >= num(redis.call('HGET', h, 'me'), math.huge) then
      why = 'blocked'
    end
  end
  if why ~= '' then
    retire(id, h, why, now, ttl)
    retiredNow = 1
    retired = true
  end
end
return {created, retiredNow}
`;

/** `ssUpsert`'s reply: whether the write created the session, and whether it retired it. */
export type UpsertReply = [created: number, retiredNow: number];

/** The script as an ioredis command (EVALSHA, reloaded by ioredis after a Redis restart). */
export interface ScriptedRedis extends Redis {
  ssUpsert(...args: (string | number)[]): Promise<UpsertReply>;
}

/** Registers the script on a client. */
export function defineScripts(client: Redis): ScriptedRedis {
  client.defineCommand('ssUpsert', { numberOfKeys: 0, lua: UPSERT });
  return client as ScriptedRedis;
}
