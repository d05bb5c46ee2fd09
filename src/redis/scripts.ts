/**
 * The Lua scripts that make every shared-pool operation atomic in Redis, and the key layout they share.
 * Every key lives under the pool's prefix P:
 *
 *   P live          set of live session ids (its size is the fleet's pool size)
 *   P s:<id>        hash: rec (context JSON without counters), u (usageCount), e (errorScore), mu, me, exp, bu,
 *                   retired, reason, retiredAt, jv (cookie jar version), cu:<store>/ce:<store> (what each store
 *                   instance has contributed to u and e: a resent or retried write is applied once)
 *   P j:<id>        hash: one field per cookie (`domain;path;name` → cookie JSON)
 *   P l:<id>        sorted set of leases: token → expiry (Redis TIME, ms)
 *   P retired       sorted set: retired id → retirement time (ms), trimmed after the tombstone TTL
 *   P meta          hash: createdCount, retiredCount
 *   P events        pub/sub channel: {type: created|retired|released, id, reason?, origin}
 *
 * Scripts build keys from the prefix passed in ARGV, so they target one Redis node (no Cluster).
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
local function retire(id, h, why, now, ttl, origin)
  redis.call('HSET', h, 'retired', 1, 'reason', why, 'retiredAt', now)
  redis.call('SREM', P .. 'live', id)
  redis.call('ZADD', P .. 'retired', now, id)
  redis.call('ZREMRANGEBYSCORE', P .. 'retired', '-inf', now - ttl * 1000)
  redis.call('HINCRBY', P .. 'meta', 'retiredCount', 1)
  redis.call('DEL', P .. 'l:' .. id)
  redis.call('EXPIRE', h, ttl)
  redis.call('EXPIRE', P .. 'j:' .. id, ttl)
  redis.call('PUBLISH', P .. 'events', cjson.encode({type = 'retired', id = id, reason = why, origin = origin}))
end
`;

/**
 * Creates a session if the fleet has room. ARGV: P, id, rec, maxUsage, maxErr, expiresAt, blockedUntil,
 * maxPoolSize, origin. Returns 1 (created), 0 (pool full) or 2 (already exists: a resent command).
 */
const CREATE = `${PRELUDE}
local id = ARGV[2]
local h = P .. 's:' .. id
if redis.call('EXISTS', h) == 1 then return 2 end
if redis.call('SCARD', P .. 'live') >= tonumber(ARGV[8]) then return 0 end
redis.call('HSET', h, 'rec', ARGV[3], 'u', 0, 'e', '0', 'mu', ARGV[4], 'me', ARGV[5], 'exp', ARGV[6],
  'bu', ARGV[7], 'retired', 0, 'jv', 0)
redis.call('SADD', P .. 'live', id)
redis.call('HINCRBY', P .. 'meta', 'createdCount', 1)
redis.call('PUBLISH', P .. 'events', cjson.encode({type = 'created', id = id, origin = ARGV[9]}))
return 1
`;

/**
 * Writes one session: contributions to the counters (as absolute per-store totals, so a repeat is a no-op),
 * context fields, cookie changes, and retirement (asked for, or implied by the counters). Exactly one caller
 * flips a session to retired, and only that one publishes it.
 * ARGV: P, id, origin, rec, usage, score, maxUsage, maxErr, exp, bu, reason ('' = none), tombstoneTtl,
 * nSets, (field, json)*, nDels, field*.
 * Returns {created, retiredNow, u, e, jv, retired, reason, jarChanged}.
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
    retire(id, h, why, now, ttl, origin)
    retiredNow = 1
    retired = true
  end
end
local f = redis.call('HMGET', h, 'u', 'e', 'jv', 'reason')
return {created, retiredNow, f[1], f[2], f[3], retired and 1 or 0, f[4] or '', jarChanged and 1 or 0}
`;

/**
 * Leases the first candidate that is live, within its limits (counting the leases in flight as uses), not
 * cooling down, not expired, and under `maxConcurrency` leases. Returns the cookie jar when its version differs
 * from the caller's. ARGV: P, token, ttlMs, maxConcurrency, (id, localJarVersion)*.
 * Returns nil or {id, jv, jarFlat}.
 */
const LEASE = `${PRELUDE}
local token, ttl, maxc = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local now = nowMs()
for i = 5, #ARGV, 2 do
  local id = ARGV[i]
  local h = P .. 's:' .. id
  local f = redis.call('HMGET', h, 'retired', 'u', 'e', 'mu', 'me', 'exp', 'bu', 'jv')
  if f[1] == '0' then
    local lk = P .. 'l:' .. id
    redis.call('ZREMRANGEBYSCORE', lk, '-inf', now)
    local held = redis.call('ZSCORE', lk, token)
    local n = redis.call('ZCARD', lk)
    local bu = tonumber(f[7])
    if held or (n < maxc and num(f[2], 0) + n < num(f[4], 0) and num(f[3], 0) < num(f[5], 0)
        and num(f[6], 0) > now and (bu == nil or bu <= now)) then
      redis.call('ZADD', lk, now + ttl, token)
      redis.call('PEXPIRE', lk, ttl + 1000)
      local jar = {}
      if f[8] ~= ARGV[i + 1] then jar = redis.call('HGETALL', P .. 'j:' .. id) end
      return {id, f[8], jar}
    end
  end
end
return false
`;

/** Extends a lease that is still held. ARGV: P, id, token, ttlMs. Returns 1, or 0 if it was lost. */
const RENEW = `${PRELUDE}
local lk = P .. 'l:' .. ARGV[2]
local now = nowMs()
local expiry = redis.call('ZSCORE', lk, ARGV[3])
if not expiry or tonumber(expiry) <= now then
  redis.call('ZREM', lk, ARGV[3])
  return 0
end
redis.call('ZADD', lk, now + tonumber(ARGV[4]), ARGV[3])
redis.call('PEXPIRE', lk, tonumber(ARGV[4]) + 1000)
return 1
`;

/** Ends a lease and tells waiting workers. ARGV: P, id, token, origin. Returns 1 if it was held. */
const RELEASE = `${PRELUDE}
local n = redis.call('ZREM', P .. 'l:' .. ARGV[2], ARGV[3])
if n == 1 then
  redis.call('PUBLISH', P .. 'events', cjson.encode({type = 'released', id = ARGV[2], origin = ARGV[4]}))
end
return n
`;

export type UpsertReply = [number, number, string, string, string, number, string, number];
export type LeaseReply = [string, string, string[]] | null;

/** The scripts as ioredis commands (EVALSHA, reloaded by ioredis after a Redis restart). */
export interface ScriptedRedis extends Redis {
  ssCreate(...args: (string | number)[]): Promise<number>;
  ssUpsert(...args: (string | number)[]): Promise<UpsertReply>;
  ssLease(...args: (string | number)[]): Promise<LeaseReply>;
  ssRenew(...args: (string | number)[]): Promise<number>;
  ssRelease(...args: (string | number)[]): Promise<number>;
}

/** Registers the scripts on a client. */
export function defineScripts(client: Redis): ScriptedRedis {
  client.defineCommand('ssCreate', { numberOfKeys: 0, lua: CREATE });
  client.defineCommand('ssUpsert', { numberOfKeys: 0, lua: UPSERT });
  client.defineCommand('ssLease', { numberOfKeys: 0, lua: LEASE });
  client.defineCommand('ssRenew', { numberOfKeys: 0, lua: RENEW });
  client.defineCommand('ssRelease', { numberOfKeys: 0, lua: RELEASE });
  return client as ScriptedRedis;
}
