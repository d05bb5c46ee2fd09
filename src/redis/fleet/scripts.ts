/**
 * The fleet protocol's Lua scripts. Each declares the pool's nine keys (KEYS[1..9], see keys.ts) and builds no
 * key of its own, so it runs on Redis Cluster (one hash tag, one slot). Work per call is bounded whatever the
 * pool size or worker count: a grant reads a handful of members of the sorted set of available sessions, sweeps
 * at most a few lapsed leases, and reads one session's state; a release touches one session.
 *
 * Session state (`st` hash, JSON per id): u uses counted, f leases in flight, q uses those leases reserve (a grant may
 * reserve several, see ACQUIRE), t token → uses reserved, for leases reserving more than one (absent when none does), e
 * error score, mu maxUsageCount, me maxErrorScore, x expiresAt, b blockedUntil (0 = none), n earliest next grant, c
 * maxConcurrency, p pacing delay (ms), d errorScoreDecrement, v cookie-jar version, r retirement reason ('' = live), k
 * worker id → the jar version that worker last saw (at most four: an older worker gets the whole jar again).
 *
 * Every script but INIT and RESET first checks the generation the caller knows: a Redis that came back empty
 * (or was reset) answers `{'gen', current}` and changes nothing, so no partial local state is ever written back.
 */
import type { Cluster, Redis } from 'ioredis';

const PRELUDE = `
local K_META, K_AVAIL, K_ST, K_REC, K_LEASES, K_JAR, K_JLOG, K_RETIRED, K_WAIT =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local TAG = string.sub(K_META, 1, -6)
local TOMBSTONES = 2000
local AFFINITY = 4
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- Session states read in this call, each decoded once and written back once, by flush() at the end: a session
-- released and granted again in one call is read and written once.
local CACHE, DIRTY, ENCODED = {}, {}, {}
local function load(id)
  local s = CACHE[id]
  if s == nil then
    local raw = redis.call('HGET', K_ST, id)
    s = raw and cjson.decode(raw) or false
    if s and s.q == nil then s.q = s.f end
    CACHE[id] = s
  end
  return s or nil
end
local function save(id, s)
  CACHE[id] = s
  DIRTY[id] = true
  ENCODED[id] = nil
end
-- A saved state as JSON, for a reply: flush() writes the same string (encoding costs more than any command here).
local function encoded(id)
  local json = ENCODED[id] or cjson.encode(CACHE[id])
  ENCODED[id] = json
  return json
end
local function forget(id)
  redis.call('HDEL', K_ST, id)
  CACHE[id], DIRTY[id], ENCODED[id] = false, nil, nil
end
local function flush()
  local fields = {}
  for id in pairs(DIRTY) do
    fields[#fields + 1] = id
    fields[#fields + 1] = ENCODED[id] or cjson.encode(CACHE[id])
  end
  if #fields > 0 then redis.call('HSET', K_ST, unpack(fields)) end
end
local function pad(n) return string.format('%012d', n) end
-- The uses a lease in flight reserves (one unless its grant said more), and forgetting them when it ends.
local function reservedBy(s, token) return (s.t and s.t[token]) or 1 end
local function endLease(s, token)
  local r = reservedBy(s, token)
  if s.f > 0 then s.f = s.f - 1 end
  s.q = math.max(0, s.q - r)
  if s.t then
    s.t[token] = nil
    if next(s.t) == nil then s.t = nil end
  end
  return r
end
-- What this call changed of the pool's live count and retirements, so a reply needs no second read of them.
local LIVE_DELTA, RETIREMENTS = 0, 0
local function grantable(s, now)
  return s.r == '' and s.u + s.q < s.mu and s.f < s.c and s.e < s.me and s.x > now and s.n <= now
end
local function retire(id, s, why)
  s.r = why
  redis.call('ZREM', K_AVAIL, id)
  redis.call('HDEL', K_REC, id)
  local rseq = redis.call('HINCRBY', K_META, 'rseq', 1)
  redis.call('ZADD', K_RETIRED, rseq, id .. '|' .. why)
  redis.call('HINCRBY', K_META, 'live', -1)
  LIVE_DELTA, RETIREMENTS = LIVE_DELTA - 1, RETIREMENTS + 1
  redis.call('HINCRBY', K_META, 'retired', 1)
  redis.call('HINCRBY', K_META, 'why:' .. why, 1)
  -- A retired session's cookies are of no further use.
  local first, last = '[' .. id .. '\\n', '[' .. id .. '\\n\\255'
  local entries = redis.call('ZRANGEBYLEX', K_JLOG, first, last)
  for _, entry in ipairs(entries) do
    local field = string.sub(entry, #id + 15)
    redis.call('HDEL', K_JAR, id .. '\\n' .. field)
  end
  if #entries > 0 then redis.call('ZREMRANGEBYLEX', K_JLOG, first, last) end
  -- Tombstones beyond the newest TOMBSTONES go, two per retirement: bounded work, bounded memory.
  local extra = redis.call('ZCARD', K_RETIRED) - TOMBSTONES
  if extra > 0 then
    local old = redis.call('ZRANGE', K_RETIRED, 0, math.min(extra, 2) - 1)
    for _, member in ipairs(old) do
      local oldId = string.match(member, '^(.*)|[^|]*$')
      local os = load(oldId)
      if os and os.f == 0 then forget(oldId) end
      redis.call('ZREM', K_RETIRED, member)
    end
  end
end
-- Puts a live session in the set of available ones (or takes it out), scored by when it may next be granted.
local function refresh(id, s, now)
  if s.r ~= '' then
    redis.call('ZREM', K_AVAIL, id)
  elseif s.x <= now then
    retire(id, s, 'expired')
  elseif s.u + s.q < s.mu and s.f < s.c and s.e < s.me then
    redis.call('ZADD', K_AVAIL, s.n, id)
  else
    redis.call('ZREM', K_AVAIL, id)
  end
end
-- Pops the waiter registered longest ago (smallest expiry) and tells it something was freed. With no waiter
-- registered (the usual case) this is one read.
local function wakeOne(now)
  local w = redis.call('ZRANGE', K_WAIT, 0, 0, 'WITHSCORES')
  if w[1] and tonumber(w[2]) <= now then
    redis.call('ZREMRANGEBYSCORE', K_WAIT, '-inf', now)
    w = redis.call('ZRANGE', K_WAIT, 0, 0)
  end
  if w[1] then
    redis.call('ZREM', K_WAIT, w[1])
    redis.call('PUBLISH', TAG .. ':w:' .. w[1], '1')
    return 1
  end
  return 0
end
-- A lease whose holder did not release or renew it in time: its reserved uses count (requests may have gone out).
-- Its holder may never have received the grant (a reply lost to a stall), so nor the cookies it carried: its
-- next grant of the session sends the whole jar.
local function lapse(member, now)
  redis.call('ZREM', K_LEASES, member)
  redis.call('HINCRBY', K_META, 'expired', 1)
  local id = string.match(member, '^(.*)|[^|]*$')
  local s = load(id)
  if not s then return end
  local holder = string.match(member, '|([^|:]*):[^|]*$')
  if holder then s.k[holder] = nil end
  local r = endLease(s, string.match(member, '|([^|]*)$'))
  s.u = math.min(s.mu, s.u + r)
  redis.call('HINCRBY', K_META, 'used', r)
  redis.call('HINCRBY', K_META, 'expiredUses', r)
  if s.r == '' then
    if s.u >= s.mu then retire(id, s, 'maxUsageCount') else refresh(id, s, now) end
  end
  save(id, s)
end
local function sweep(now)
  local due = redis.call('ZRANGEBYSCORE', K_LEASES, '-inf', now, 'LIMIT', 0, 8)
  for _, member in ipairs(due) do lapse(member, now) end
  if #due > 0 then wakeOne(now) end
end
-- m: the pool's meta as the call already read it (gen first), or nil to read the generation here.
local function checkGen(known, m)
  local gen
  if m then gen = m[1] else gen = redis.call('HGET', K_META, 'gen') end
  if gen ~= known then return {'gen', gen or ''} end
  return nil
end
-- The hot scripts take their arguments as one string, NUL-separated: far cheaper to send than one argument each.
local function unpackArgs(packed)
  local args, from = {}, 1
  while true do
    local at = string.find(packed, '\0', from, true)
    if not at then
      args[#args + 1] = string.sub(packed, from)
      return args
    end
    args[#args + 1] = string.sub(packed, from, at - 1)
    from = at + 1
  end
end
local function retiredSince(seq)
  return redis.call('ZRANGEBYSCORE', K_RETIRED, '(' .. seq, '+inf', 'WITHSCORES', 'LIMIT', 0, 32)
end
`;

/**
 * Starts a generation when there is none. ARGV: newGen. A pool with keys but no generation is partial state
 * (its meta was lost): it is cleared, never reused. Returns {gen, rseq, live, started (1/0)}.
 */
const INIT = `${PRELUDE}
local gen = redis.call('HGET', K_META, 'gen')
if gen then
  local m = redis.call('HMGET', K_META, 'rseq', 'live')
  return {gen, m[1] or '0', m[2] or '0', 0}
end
redis.call('DEL', K_AVAIL, K_ST, K_REC, K_LEASES, K_JAR, K_JLOG, K_RETIRED, K_WAIT, K_META)
redis.call('HSET', K_META, 'gen', ARGV[1], 'live', 0, 'created', 0, 'retired', 0, 'rseq', 0, 'jseq', 0)
return {ARGV[1], '0', '0', 1}
`;

/**
 * Grants a lease: the pinned session, else the least recently granted available one not excluded (an excluded
 * one when nothing else can serve), else a new session while the pool has room. The grant reserves up to the
 * uses asked for (one where the session is paced, or while any worker waits for a session): uses counted + uses
 * reserved never pass maxUsageCount, leases in flight never pass maxConcurrency.
 * Arguments (ARGV[1], NUL-separated): 1 gen, 2 worker, 3 token, 4 ttlMs, 5 maxPoolSize, 6 pinned id ('' = any),
 * 7 retirements seen (seq), 8 register as waiter when nothing can be granted ('1'/'0'), or 'add': create the
 * offered session now (a pool's addSession), granted to this worker, 9 new id ('' = none), 10 new context JSON,
 * 11 new state JSON, 12 other requests of this worker are waiting ('1'; '0': none, so unregister it; '-': none, and it is not
 * registered), 13 uses wanted (at least 1), 14… excluded ids.
 * Replies: {'ok', id, state, rec|false, cookieMode ('none'|'delta'|'full'), cookies (field, json)*, live, retired
 * (member, seq)*, created (1/0), uses reserved} · {'wait', next grant time|'', live, retired} · {'room', live, retired}
 * (room for a new session but none was offered) · {'gone', live, retired} (pinned session not live) · {'full', live,
 * retired} and {'dup', live, retired} (an 'add' refused: no room, or the id was ever used) · {'gen', g}.
 */
const ACQUIRE_FN = `
-- m: the pool's meta (gen, live, rseq) as this call found it, before any change it made (read here if not given).
local function acquire(A, now, m)
  m = m or redis.call('HMGET', K_META, 'gen', 'live', 'rseq')
  local bad = checkGen(A[1], m)
  if bad then return bad end
  -- The live count now: as found, plus what this call changed (m was read before any change).
  local function liveNow() return (tonumber(m[2]) or 0) + LIVE_DELTA end
  -- Retirements after the caller's last: none to read unless one happened since it heard (the usual case).
  local function retiredNews()
    if RETIREMENTS == 0 and m[3] == A[7] then return {} end
    return retiredSince(A[7])
  end
  local wid, token, ttl, maxPool = A[2], A[3], tonumber(A[4]), tonumber(A[5])
  local pinned = A[6]
  now = now or nowMs()
  sweep(now)
  local chosen, s
  local created = 0
  -- The offered session (arguments 9-11) becomes a live one: counted, recorded, not yet granted.
  local function createOffered()
    chosen = A[9]
    s = cjson.decode(A[11])
    s.u, s.f, s.q, s.v, s.r, s.n, s.k = 0, 0, 0, 0, '', now, {}
    redis.call('HSET', K_REC, chosen, A[10])
    redis.call('HINCRBY', K_META, 'live', 1)
    LIVE_DELTA = LIVE_DELTA + 1
    redis.call('HINCRBY', K_META, 'created', 1)
    created = 1
  end
  if A[8] == 'add' then
    local live = liveNow()
    if live >= maxPool then return {'full', tostring(live), retiredNews()} end
    -- A retired session's id stays taken while its tombstone lasts: nothing comes back under an old id.
    if redis.call('HEXISTS', K_ST, A[9]) == 1 then return {'dup', tostring(live), retiredNews()} end
    createOffered()
  elseif pinned ~= '' then
    s = load(pinned)
    if s and s.r == '' and s.x <= now then
      retire(pinned, s, 'expired')
      save(pinned, s)
    end
    if not s or s.r ~= '' then
      return {'gone', tostring(liveNow()), retiredNews()}
    end
    if grantable(s, now) then chosen = pinned end
  else
    local excluded = {}
    for i = 14, #A do excluded[A[i]] = true end
    -- Among the few least recently granted, one this worker already holds a copy of is preferred (no adoption,
    -- no new connection there); else the least recently granted. A bounded look: O(1) whatever the pool size.
    local ids = redis.call('ZRANGEBYSCORE', K_AVAIL, '-inf', now, 'LIMIT', 0, #A - 13 + AFFINITY)
    local fallback, fallbackState, first, firstState
    for _, id in ipairs(ids) do
      local cs = load(id)
      if not cs then
        redis.call('ZREM', K_AVAIL, id)
      elseif cs.r == '' and cs.x <= now then
        retire(id, cs, 'expired')
        save(id, cs)
      elseif grantable(cs, now) then
        if excluded[id] then
          if not fallback then fallback, fallbackState = id, cs end
        elseif cs.k[wid] ~= nil then
          chosen, s = id, cs
          break
        elseif not first then
          first, firstState = id, cs
        end
      else
        refresh(id, cs, now)
      end
    end
    if not chosen and first then chosen, s = first, firstState end
    if not chosen and fallback then chosen, s = fallback, fallbackState end
    if not chosen then
      local live = liveNow()
      if live < maxPool then
        if A[9] == '' then return {'room', tostring(live), retiredNews()} end
        if redis.call('HEXISTS', K_ST, A[9]) == 1 then return redis.error_reply('duplicate session id ' .. A[9]) end
        createOffered()
      end
    end
  end
  if not chosen then
    if A[8] == '1' then redis.call('ZADD', K_WAIT, now + ttl, wid) end
    local nxt = redis.call('ZRANGE', K_AVAIL, 0, 0, 'WITHSCORES')
    return {'wait', nxt[2] or '', tostring(liveNow()), retiredNews()}
  end
  -- A worker with no other request waiting is no longer a waiter: a wake-up goes to one that is.
  if A[12] == '0' then redis.call('ZREM', K_WAIT, wid) end
  -- Several uses only for an unpaced session, and while no worker waits for one (then uses go round one by one).
  local uses, wanted = 1, tonumber(A[13]) or 1
  if s.p == 0 and wanted > 1 and redis.call('EXISTS', K_WAIT) == 0 then
    uses = math.max(1, math.min(wanted, s.mu - s.u - s.q))
  end
  s.f = s.f + 1
  s.q = s.q + uses
  if uses > 1 then
    s.t = s.t or {}
    s.t[token] = uses
  end
  s.n = math.max(now + s.p, s.b)
  redis.call('ZADD', K_LEASES, now + ttl, chosen .. '|' .. token)
  redis.call('HINCRBY', K_META, 'granted', 1)
  refresh(chosen, s, now)
  -- The cookie changes this worker has not seen: none, those after the version it saw, or the whole jar.
  local known = s.k[wid]
  local mode, cookies, rec = 'none', {}, false
  if known == nil or known < s.v then
    local first
    if known == nil then
      mode = 'full'
      first = '[' .. chosen .. '\\n'
      rec = redis.call('HGET', K_REC, chosen) or false
    else
      mode = 'delta'
      first = '[' .. chosen .. '\\n' .. pad(known + 1)
    end
    local entries = redis.call('ZRANGEBYLEX', K_JLOG, first, '[' .. chosen .. '\\n\\255')
    if #entries > 0 then
      local fields, keys = {}, {}
      for i, entry in ipairs(entries) do
        fields[i] = string.sub(entry, #chosen + 15)
        keys[i] = chosen .. '\\n' .. fields[i]
      end
      local values = redis.call('HMGET', K_JAR, unpack(keys))
      for i, field in ipairs(fields) do
        local value = values[i] or ''
        local json = string.sub(value, 14)
        if mode == 'delta' or json ~= '' then
          cookies[#cookies + 1] = field
          cookies[#cookies + 1] = json
        end
      end
    end
  end
  s.k[wid] = s.v
  local count, oldest, oldestV = 0, nil, nil
  for w, v in pairs(s.k) do
    count = count + 1
    if w ~= wid and (oldestV == nil or v < oldestV) then oldest, oldestV = w, v end
  end
  if count > 4 and oldest then s.k[oldest] = nil end
  save(chosen, s)
  return {'ok', chosen, encoded(chosen), rec, mode, cookies, tostring(liveNow()), retiredNews(), created, uses}
end
`;

/**
 * Ends a lease: the outcomes of its uses, the cookie changes made under it, and the release itself (alone, or in
 * EXCHANGE). A lease no longer held (it lapsed and was counted, or this is a resend) changes no counter; its
 * cookies are still the session's and are applied while the session lives.
 * Arguments (ARGV[1], NUL-separated): 1 gen, 2 worker, 3 id, 4 token, 5 the outcomes of the uses made under the
 * lease, one letter each in order (g good, b bad, a aborted; '' none: given back unused), at most its reserved uses,
 * 6 retire reason ('' = none), 7 cool down until (ms, '' = none), 8 the worker wakes its own waiters ('1'; '0':
 * it has none, so unregister it; '-': none, and it is not registered), 9 nSets, (field, json)*, nDels, field*.
 * A lease past its expiry lapses here (only this one: acquires and renewals sweep the others).
 * Reply: {status ('ok'|'lost'|'gone'), state JSON|'', reason if this release retired it|'', woke (1/0),
 * freed (1/0), reason if it is retired|''} or {'gen', g}.
 */
const RELEASE_FN = `
-- m: as for acquire; its generation is checked when given (read here if not).
local function release(A, now, m)
  local bad = checkGen(A[1], m)
  if bad then return bad end
  local wid, id, token, outcomes = A[2], A[3], A[4], A[5]
  now = now or nowMs()
  local member = id .. '|' .. token
  local held = redis.call('ZSCORE', K_LEASES, member)
  -- Past its expiry the lease has lapsed, whether or not a sweep got to it: its use counts as a lapse.
  if held and tonumber(held) <= now then
    lapse(member, now)
    held = nil
  end
  if A[8] == '0' then redis.call('ZREM', K_WAIT, wid) end
  local s = load(id)
  if not s then
    redis.call('ZREM', K_LEASES, member)
    return {'gone', '', '', 0, 0}
  end
  local status = 'lost'
  local wasRetired = s.r ~= ''
  if held then
    status = 'ok'
    redis.call('ZREM', K_LEASES, member)
    local reserved = endLease(s, token)
    local used = math.min(#outcomes, reserved)
    for k = 1, used do
      local outcome = string.sub(outcomes, k, k)
      if outcome == 'g' then
        s.e = math.max(0, s.e - s.d)
      elseif outcome == 'b' then
        s.e = s.e + 1
      end
    end
    if used > 0 then
      s.u = s.u + used
      redis.call('HINCRBY', K_META, 'used', used)
    end
  elseif token ~= '' then
    redis.call('HINCRBY', K_META, 'lost', 1)
  end
  if s.r == '' then
    local before = s.v
    local i = 9
    local nSets = tonumber(A[i])
    local function put(field, json)
      local key = id .. '\\n' .. field
      local old = redis.call('HGET', K_JAR, key)
      if old and string.sub(old, 14) == json then return end
      if not old and json == '' then return end
      local seq = redis.call('HINCRBY', K_META, 'jseq', 1)
      if old then redis.call('ZREM', K_JLOG, id .. '\\n' .. string.sub(old, 1, 12) .. '\\n' .. field) end
      redis.call('HSET', K_JAR, key, pad(seq) .. '\\n' .. json)
      redis.call('ZADD', K_JLOG, 0, id .. '\\n' .. pad(seq) .. '\\n' .. field)
      s.v = seq
    end
    for k = 1, nSets do put(A[i + 2 * k - 1], A[i + 2 * k]) end
    i = i + 2 * nSets + 1
    for k = 1, tonumber(A[i]) do put(A[i + k], '') end
    if s.k[wid] == before then s.k[wid] = s.v end
    if held and A[7] ~= '' then
      s.b = tonumber(A[7])
      s.n = math.max(s.n, s.b)
    end
    if A[6] ~= '' then
      retire(id, s, A[6])
    elseif s.u >= s.mu then
      retire(id, s, 'maxUsageCount')
    elseif s.e >= s.me then
      retire(id, s, 'blocked')
    else
      refresh(id, s, now)
    end
  end
  save(id, s)
  local freed = 0
  if held and (grantable(s, now) or (s.r ~= '' and not wasRetired)) then freed = 1 end
  local woke = 0
  if freed == 1 and A[8] ~= '1' then woke = wakeOne(now) end
  return {status, encoded(id), (not wasRetired and s.r) or '', woke, freed, s.r}
end
`;

const ACQUIRE = `${PRELUDE}${ACQUIRE_FN}
local reply = acquire(unpackArgs(ARGV[1]))
flush()
return reply
`;

const RELEASE = `${PRELUDE}${RELEASE_FN}
local reply = release(unpackArgs(ARGV[1]))
flush()
return reply
`;

/**
 * Releases, then an acquire, in one call: what a worker's releases free can go to its next request, and a
 * request costs one round trip where it would cost two. Arguments (ARGV[1], NUL-separated): 1 the number of
 * releases k; then per release its argument count n and its n arguments (RELEASE's); then ACQUIRE's, or nothing
 * (releases only).
 * Reply: {acquire's reply or false, release 1's reply, …, release k's reply}.
 */
const EXCHANGE = `${PRELUDE}${RELEASE_FN}${ACQUIRE_FN}
local P = unpackArgs(ARGV[1])
-- One read of the generation and one clock reading for the whole call.
local m = redis.call('HMGET', K_META, 'gen', 'live', 'rseq')
local now = nowMs()
local function slice(from, to)
  local part = {}
  for i = from, to do part[#part + 1] = P[i] end
  return part
end
local replies = {false}
local i = 2
for r = 1, tonumber(P[1]) do
  local n = tonumber(P[i])
  replies[r + 1] = release(slice(i + 1, i + n), now, m)
  i = i + n + 1
end
if i <= #P then replies[1] = acquire(slice(i, #P), now, m) end
flush()
return replies
`;

/**
 * Renews this worker's leases (one call for all of them) and keeps its waiter registration alive.
 * ARGV: 1 gen, 2 worker, 3 ttlMs, 4 waiting ('1'/'0'), 5… members (`<id>|<token>`).
 * Reply: {'ok', lost member*} or {'gen', g}. A lease found past its expiry lapses here (its use counts).
 */
const RENEW = `${PRELUDE}
local bad = checkGen(ARGV[1])
if bad then return bad end
local now = nowMs()
local ttl = tonumber(ARGV[3])
local lost = {}
for i = 5, #ARGV do
  local score = redis.call('ZSCORE', K_LEASES, ARGV[i])
  if not score then
    lost[#lost + 1] = ARGV[i]
  elseif tonumber(score) <= now then
    lapse(ARGV[i], now)
    lost[#lost + 1] = ARGV[i]
  else
    redis.call('ZADD', K_LEASES, 'XX', now + ttl, ARGV[i])
  end
end
if ARGV[4] == '1' then redis.call('ZADD', K_WAIT, now + ttl, ARGV[2]) end
sweep(now)
flush()
return {'ok', lost}
`;

/**
 * Gives back grants whose replies never reached their worker (the command timed out, the grant was applied
 * later): no request went out on them, so no use counts, and the worker gets the whole jar on its next grant.
 * ARGV: 1 gen, 2 worker, 3… tokens. Reply: {'ok', cancelled} or {'gen', g}. Reads every lease: run only after a
 * fault, never per request.
 */
const CANCEL = `${PRELUDE}
local bad = checkGen(ARGV[1])
if bad then return bad end
local now = nowMs()
local wanted = {}
for i = 3, #ARGV do wanted[ARGV[i]] = true end
local cancelled = 0
for _, member in ipairs(redis.call('ZRANGE', K_LEASES, 0, -1)) do
  local token = string.match(member, '|([^|]*)$')
  if token and wanted[token] then
    redis.call('ZREM', K_LEASES, member)
    local id = string.match(member, '^(.*)|[^|]*$')
    local s = load(id)
    if s then
      endLease(s, token)
      s.k[ARGV[2]] = nil
      if s.r == '' then refresh(id, s, now) end
      save(id, s)
    end
    cancelled = cancelled + 1
  end
end
if cancelled > 0 then
  redis.call('HINCRBY', K_META, 'cancelled', cancelled)
  wakeOne(now)
end
flush()
return {'ok', cancelled}
`;

/** Deletes every key of the pool, and only those (they are all declared). */
const RESET = `
redis.call('DEL', unpack(KEYS))
return 1
`;

// biome-ignore lint/suspicious/noExplicitAny: script replies are nested arrays of strings and numbers, read by position.
export type FleetReply = any[];

/** The scripts as commands of a client (EVALSHA, reloaded by ioredis after a Redis restart). */
export interface FleetCommands {
  fleetInit(...args: (string | number)[]): Promise<[string, string, string, number]>;
  fleetAcquire(...args: (string | number)[]): Promise<FleetReply>;
  fleetRelease(...args: (string | number)[]): Promise<FleetReply>;
  fleetExchange(...args: (string | number)[]): Promise<FleetReply>;
  fleetRenew(...args: (string | number)[]): Promise<FleetReply>;
  fleetCancel(...args: (string | number)[]): Promise<FleetReply>;
  fleetReset(...args: (string | number)[]): Promise<number>;
}

export type FleetClientConnection = (Redis | Cluster) & FleetCommands;

/** Registers the scripts on a client: every script declares the pool's nine keys. */
export function defineFleetScripts(client: Redis | Cluster): FleetClientConnection {
  client.defineCommand('fleetInit', { numberOfKeys: 9, lua: INIT });
  client.defineCommand('fleetAcquire', { numberOfKeys: 9, lua: ACQUIRE });
  client.defineCommand('fleetRelease', { numberOfKeys: 9, lua: RELEASE });
  client.defineCommand('fleetExchange', { numberOfKeys: 9, lua: EXCHANGE });
  client.defineCommand('fleetRenew', { numberOfKeys: 9, lua: RENEW });
  client.defineCommand('fleetCancel', { numberOfKeys: 9, lua: CANCEL });
  client.defineCommand('fleetReset', { numberOfKeys: 9, lua: RESET });
  return client as FleetClientConnection;
}
