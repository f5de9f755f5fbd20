import RedisClient

/// The Redis 7 function library `sse`: reliable publish and replay, each one atomic step inside Redis.
///
/// **Why one clock.** Stream ids made with `*` are only ordered within one stream: two topics can both get
/// `1700000000000-0` in the same millisecond, so one `Last-Event-ID` could not say where to resume in each of a
/// client's topics. Instead every reliable publish takes its id from one hash, `sse:clock` (field `last`), inside
/// the same atomic function that appends to the topic's stream and publishes: the id is `<now>-0` when the server
/// time has moved past the last id's milliseconds, else the last id with its sequence plus one. Ids therefore
/// strictly increase across all topics of one Redis, within one millisecond and even when the server's clock steps
/// back, and "after id X" means the same point in every topic's history.
///
/// **Why `origin`.** The clock also records the first id it ever issued (`origin`). An id older than `origin` or
/// newer than `last`, or any id once the clock is gone, was not issued by this Redis's current data (a flush, a
/// restart without persistence, a failover to an empty replica), so replay answers "unknown" instead of resuming
/// with a silent hole.
///
/// **Why the function trims.** Redis 7.0's own `MAXLEN` trimming does not move a stream's `max-deleted-entry-id`
/// (only `XDEL` does), so replay could not tell "trimmed away" from "nothing was published". `sse_publish`
/// therefore trims itself, in batches like `MAXLEN ~`: once a stream holds `maxlen + max(1, maxlen / 10)` entries
/// it reads the ids about to go, trims exactly to `maxlen` (`XTRIM MAXLEN`) and records the newest trimmed id
/// with `XSETID … MAXDELETEDID`. A stream thus keeps between `maxlen` and about 10 % more entries, and reading
/// the trimmed ids costs about one entry per publish.
///
/// **Why an idempotency key.** A publish that timed out on the caller's side may still run (the command was already
/// in Redis's socket when Redis stalled), so a caller that retries would publish twice. A caller that names its
/// publish with a key passes a third key, `sse:{T}:idem:<key>` (the topic's hash tag, so the same Cluster slot as
/// the stream), and a fifth argument, the window in seconds: the first call stores key → id with that expiry, and
/// a repeat within the window answers the first id and publishes nothing. Such calls answer `{id, replayed}`
/// (0 or 1); calls without a key are unchanged and answer the id alone.
///
/// **Why `sse_confirm`.** Redis replicates asynchronously: a primary can acknowledge a publish and die before its
/// replica got it, and when it also dies before pushing the envelope to its subscribers, no gateway node relayed it
/// and nothing looks missing to any of them. The publisher, which holds the acknowledged id, checks it after a
/// reconnect (``AcknowledgedEvents``): `sse_confirm` answers whether the stream still holds it and, when it does not,
/// appends and publishes a `resync` event above it (once per lost id, through an idempotency key), so live streams
/// and later replays across the hole are told.
///
/// **Redis Cluster: one clock per topic.** One FCALL may only touch keys of one slot, and the shared `sse:clock`
/// lives in one slot, so on a Cluster every topic has its own clock, `sse:{NAME}:clock`
/// (``SSEProtocol/Topic/clockKey``), beside its stream `sse:{NAME}:history` and its channel `sse:{NAME}` under the
/// same hash tag: one call touches one slot, and reliable traffic spreads over the shards with the topics. The
/// contract per topology:
///
/// - One Redis, Sentinel: `FCALL sse_publish` with keys `sse:{T}:history`, `sse:clock`[, `sse:{T}:idem:<key>`];
///   the envelope goes out with `PUBLISH sse:{T}`; ids increase across all topics.
/// - Redis Cluster: `FCALL sse_publish_sharded` on the primary of `{T}`'s slot, with keys `sse:{T}:history`,
///   `sse:{T}:clock`[, `sse:{T}:idem:<key>`]; the envelope goes out with `SPUBLISH sse:{T}`; ids increase per topic.
///
/// The mode is the function's name, never guessed from the keys: both share one body, and `sse_publish` with a
/// per-topic clock would still `PUBLISH` (which a Cluster broadcasts to every node, not to the shard's
/// `SSUBSCRIBE`rs). `sse_history` takes its clock as its first key either way: `sse:clock` and any topics on one
/// Redis, `sse:{T}:clock` and that one topic's stream on a Cluster. Ids of different topics on a Cluster are not
/// ordered against each other (two shards can issue the same id), so "after id X" is exact only per topic: a reader
/// that resumes several topics keeps one position per topic (``History/events(after:limit:)``).
///
/// The library is versioned in its source (`-- version N`); `FUNCTION LOAD REPLACE` makes loading idempotent, and
/// calls made through ``History`` load it again when Redis has lost it.
public enum HistoryLibrary {
    /// The key of the clock hash of a single Redis (fields `last` and `origin`, both event ids); on a Cluster each
    /// topic has its own, ``SSEProtocol/Topic/clockKey``.
    public static let clockKey = "sse:clock"
    /// The sorted set of revocations still in force (`sse_revoke`): payloads scored by their `until`.
    public static let revocationsKey = "sse:revocations"

    public static let library = RedisFunctionLibrary(name: "sse", source: source)

    static let source = #"""
        #!lua name=sse
        -- sse: reliable publish and replay for the SSE gateway. version 5
        -- Contract (see HistoryLibrary.swift): ids are <ms>-<seq> from the clock hash in KEYS, strictly increasing
        -- per clock: sse:clock for all topics of one Redis, sse:{T}:clock per topic on a Cluster; the pub/sub payload
        -- is "\30sse1 <id> <event>\n<data>".

        -- A decimal digit string without leading zeros ("0" stays "0").
        local function strip_zeros(digits)
          local stripped = string.gsub(digits, '^0+', '')
          if stripped == '' then return '0' end
          return stripped
        end

        -- Splits "<ms>-<seq>" into two digit strings; nil when malformed. Kept as strings so 64-bit values compare
        -- exactly (Lua numbers are doubles).
        local function split_id(id)
          local ms, seq = string.match(id, '^(%d+)%-(%d+)$')
          if not ms then return nil end
          return { strip_zeros(ms), strip_zeros(seq) }
        end

        local function compare_numbers(a, b)
          if #a ~= #b then return (#a < #b) and -1 or 1 end
          if a == b then return 0 end
          return (a < b) and -1 or 1
        end

        local function compare_ids(a, b)
          local order = compare_numbers(a[1], b[1])
          if order ~= 0 then return order end
          return compare_numbers(a[2], b[2])
        end

        -- One field of XINFO STREAM (a flat name/value array), or nil when the stream does not exist.
        local function stream_info(stream, field)
          if redis.call('EXISTS', stream) == 0 then return nil end
          local info = redis.call('XINFO', 'STREAM', stream)
          for i = 1, #info, 2 do
            if info[i] == field then return info[i + 1] end
          end
          return nil
        end

        local function format_id(ms, seq)
          return string.format('%.0f-%.0f', ms, seq)
        end

        local function valid_event_name(name)
          if name == '' then return true end
          if #name > 64 or string.find(name, '[%z\r\n]') then return false end
          return string.sub(name, 1, 1) ~= ' ' and string.sub(name, -1) ~= ' '
        end

        -- KEYS: history stream, clock hash[, idempotency key]. ARGV: channel, maxlen, event name (may be empty),
        -- data[, window seconds]. Appends the event to the stream, publishes the envelope on the channel (with
        -- `publish`: PUBLISH, or SPUBLISH on a Cluster), returns the new id. With an idempotency key
        -- (sse:{T}:idem:<key>, beside the stream) it returns {id, 0}, and a repeat within the window returns
        -- {first id, 1} and publishes nothing.
        local function publish_event(name, publish, keys, args)
          local stream, clock, idem = keys[1], keys[2], keys[3]
          local channel, maxlen, event, data, window = args[1], args[2], args[3], args[4], args[5]
          if #keys == 3 then
            if #args ~= 5 then
              return redis.error_reply('ERR ' .. name .. ' expects 3 keys (history stream, clock, idempotency key) '
                .. 'and 5 arguments (channel, maxlen, event, data, window seconds), found ' .. #keys .. ' keys and '
                .. #args .. ' arguments')
            end
            local prefix = string.sub(stream, 1, #stream - #':history') .. ':idem:'
            if string.sub(stream, -#':history') ~= ':history' or #idem <= #prefix
              or string.sub(idem, 1, #prefix) ~= prefix then
              return redis.error_reply('ERR ' .. name .. ': idempotency key "' .. idem .. '" is not ' .. prefix
                .. '<key>')
            end
            if not string.match(window, '^%d+$') or tonumber(window) < 1 then
              return redis.error_reply('ERR ' .. name .. ': window "' .. window
                .. '" is not a positive number of seconds')
            end
          elseif #keys ~= 2 or #args ~= 4 then
            return redis.error_reply('ERR ' .. name .. ' expects 2 keys (history stream, clock) and 4 arguments '
              .. '(channel, maxlen, event, data), found ' .. #keys .. ' keys and ' .. #args .. ' arguments')
          end
          if not string.match(maxlen, '^%d+$') then
            return redis.error_reply('ERR ' .. name .. ': maxlen "' .. maxlen .. '" is not a non-negative integer')
          end
          if not valid_event_name(event) then
            return redis.error_reply('ERR ' .. name .. ': event name is invalid: use at most 64 bytes without CR, '
              .. 'LF or NUL and without leading or trailing spaces')
          end
          if idem then
            local first = redis.call('GET', idem)
            if first then return { first, 1 } end
          end
          local time = redis.call('TIME')
          local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
          local last = redis.call('HGET', clock, 'last')
          if not last then
            -- No clock (first publish, or it was deleted): never go below what the stream already holds.
            last = stream_info(stream, 'last-generated-id')
          end
          local id = format_id(now, 0)
          if last then
            local ms, seq = string.match(last, '^(%d+)%-(%d+)$')
            if not ms then
              return redis.error_reply('ERR ' .. name .. ': clock ' .. clock .. ' holds "' .. last
                .. '", expected <ms>-<seq>')
            end
            ms = tonumber(ms)
            if now <= ms then id = format_id(ms, tonumber(seq) + 1) end
          end
          redis.call('HSET', clock, 'last', id)
          redis.call('HSETNX', clock, 'origin', id)
          redis.call('XADD', stream, id, 'e', event, 'd', data)
          -- Trim in batches (like MAXLEN ~) and record the newest trimmed id as max-deleted-entry-id, which
          -- Redis's own trimming leaves unchanged, so sse_history can tell a replay gap from a quiet topic.
          local limit = tonumber(maxlen)
          local excess = redis.call('XLEN', stream) - limit
          if excess >= math.max(1, math.floor(limit / 10)) then
            local doomed = redis.call('XRANGE', stream, '-', '+', 'COUNT', excess)
            local trimmed = doomed[#doomed][1]
            local previous = stream_info(stream, 'max-deleted-entry-id')
            if compare_ids(split_id(previous), split_id(trimmed)) > 0 then trimmed = previous end
            redis.call('XTRIM', stream, 'MAXLEN', limit)
            redis.call('XSETID', stream, id, 'MAXDELETEDID', trimmed)
          end
          redis.call(publish, channel, '\30sse1 ' .. id .. ' ' .. event .. '\n' .. data)
          if idem then
            redis.call('SET', idem, id, 'EX', window)
            return { id, 0 }
          end
          return id
        end

        redis.register_function('sse_publish', function(keys, args)
          return publish_event('sse_publish', 'PUBLISH', keys, args)
        end)

        -- The same on a Redis Cluster: KEYS are the topic's own stream and clock (sse:{T}:history, sse:{T}:clock[,
        -- sse:{T}:idem:<key>]), all in one slot, and the envelope goes out with SPUBLISH to the shard's subscribers.
        redis.register_function('sse_publish_sharded', function(keys, args)
          return publish_event('sse_publish_sharded', 'SPUBLISH', keys, args)
        end)

        -- KEYS: history stream, clock hash, marker key (sse:{T}:idem:lost-<id>). ARGV: channel, maxlen, id, notice
        -- data. The publisher's check after a failover: `id` is the newest id it was answered for the topic.
        -- {'held'} when the stream holds it (or trimmed it); {'unknown'} when the clock does not cover it (no clock,
        -- or it is older than the origin: every reader holding such an id finds out by itself); else the write was
        -- lost with the old primary, and a `resync` event with the notice data goes into the stream and out on the
        -- channel like any reliable event, so live streams and later replays across the hole both get it:
        -- {'lost', marker id, 0}. The clock first moves up to `id`, so the marker and later ids stay above every id
        -- a client may hold. The marker is published once per lost id: a repeat within a day answers
        -- {'lost', first marker id, 1} (the marker key is an idempotency key of sse_publish).
        local function confirm_event(name, publish, keys, args)
          if #keys ~= 3 or #args ~= 4 then
            return redis.error_reply('ERR ' .. name .. ' expects 3 keys (history stream, clock, marker key) and 4 '
              .. 'arguments (channel, maxlen, id, notice data), found ' .. #keys .. ' keys and ' .. #args
              .. ' arguments')
          end
          local stream, clock, id = keys[1], keys[2], args[3]
          local wanted = split_id(id)
          if not wanted then
            return redis.error_reply('ERR ' .. name .. ': id "' .. id .. '" is malformed, expected <ms>-<seq>')
          end
          if #redis.call('XRANGE', stream, id, id) > 0 then return { 'held' } end
          local deleted = stream_info(stream, 'max-deleted-entry-id')
          if deleted and compare_ids(split_id(deleted), wanted) >= 0 then return { 'held' } end
          local origin, last = unpack(redis.call('HMGET', clock, 'origin', 'last'))
          if not last or (origin and compare_ids(wanted, split_id(origin)) < 0) then return { 'unknown' } end
          if compare_ids(split_id(last), wanted) < 0 then redis.call('HSET', clock, 'last', id) end
          local marker = publish_event(name, publish, keys, { args[1], args[2], 'resync', args[4], '86400' })
          if type(marker) ~= 'table' or marker.err then return marker end
          return { 'lost', marker[1], marker[2] }
        end

        redis.register_function('sse_confirm', function(keys, args)
          return confirm_event('sse_confirm', 'PUBLISH', keys, args)
        end)

        redis.register_function('sse_confirm_sharded', function(keys, args)
          return confirm_event('sse_confirm_sharded', 'SPUBLISH', keys, args)
        end)

        -- KEYS: clock hash, then the history streams of the requested topics. ARGV: the client's last id, the most
        -- entries per topic[, h]. With h, the id was issued in the h-th stream: it must still be there (or trimmed
        -- from it), else the data holding it was lost (a failover to a replica that had not received it). Returns
        -- {status, detail, ...}:
        --   {'unknown', reason}      the id was not issued by this Redis's current data
        --   {'trimmed', i}           entries after the id were trimmed from the i-th stream (a gap)
        --   {'limit', i}             the i-th stream holds more than the limit of entries after the id
        --   {'ok', last, r1, r2, …}  ri = XRANGE of the i-th stream after the id
        redis.register_function{function_name = 'sse_history', flags = { 'no-writes' }, callback = function(keys, args)
          local clock, after, limit, holder = keys[1], args[1], args[2], args[3]
          if #keys < 1 or #args < 2 or #args > 3 then
            return redis.error_reply('ERR sse_history expects the clock and history stream keys and 2 or 3 arguments '
              .. '(last id, limit[, index of the stream that issued the id]), found ' .. #keys .. ' keys and '
              .. #args .. ' arguments')
          end
          if holder and (not string.match(holder, '^%d+$') or tonumber(holder) < 1 or tonumber(holder) >= #keys) then
            return redis.error_reply('ERR sse_history: stream index "' .. holder .. '" is not between 1 and '
              .. (#keys - 1))
          end
          local after_id = split_id(after)
          if not after_id then
            return redis.error_reply('ERR sse_history: id "' .. after .. '" is malformed, expected <ms>-<seq>')
          end
          if not string.match(limit, '^%d+$') or tonumber(limit) < 1 then
            return redis.error_reply('ERR sse_history: limit "' .. limit .. '" is not a positive integer')
          end
          local origin, last = unpack(redis.call('HMGET', clock, 'origin', 'last'))
          if not last then return { 'unknown', 'no clock: nothing published since Redis lost its data' } end
          if origin and compare_ids(after_id, split_id(origin)) < 0 then
            return { 'unknown', 'older than the clock origin ' .. origin }
          end
          if compare_ids(after_id, split_id(last)) > 0 then
            return { 'unknown', 'newer than the last id ' .. last }
          end
          for i = 2, #keys do
            local deleted = stream_info(keys[i], 'max-deleted-entry-id')
            if deleted and compare_ids(split_id(deleted), after_id) > 0 then return { 'trimmed', i - 1 } end
          end
          if holder then
            local stream = keys[1 + tonumber(holder)]
            local deleted = stream_info(stream, 'max-deleted-entry-id')
            local trimmed = deleted and compare_ids(split_id(deleted), after_id) >= 0
            if not trimmed and #redis.call('XRANGE', stream, after, after) == 0 then
              return { 'unknown', 'not in ' .. stream .. ': lost with the data that held it' }
            end
          end
          local result = { 'ok', last }
          local count = tonumber(limit)
          for i = 2, #keys do
            local entries = redis.call('XRANGE', keys[i], '(' .. after, '+', 'COUNT', count + 1)
            if #entries > count then return { 'limit', i - 1 } end
            result[#result + 1] = entries
          end
          return result
        end}

        -- KEYS: the revocations sorted set. ARGV: a control payload {"revoke":{…}}. Sets "at" (now, from the server's
        -- clock) and "until" (a day after "at") when missing, keeps the payload in the set scored by "until" (so a
        -- node that starts or reconnects later loads what is still in force), drops the entries past theirs, and
        -- publishes it on the control channel. Returns the number of nodes that received it. The gateway checks the
        -- rest of the message; this checks only its shape.
        redis.register_function('sse_revoke', function(keys, args)
          if #keys ~= 1 or #args ~= 1 then
            return redis.error_reply('ERR sse_revoke expects 1 key (the revocations set) and 1 argument '
              .. '(the {"revoke":{...}} payload), found ' .. #keys .. ' keys and ' .. #args .. ' arguments')
          end
          local ok, message = pcall(cjson.decode, args[1])
          if not ok or type(message) ~= 'table' or type(message.revoke) ~= 'table' then
            return redis.error_reply('ERR sse_revoke: the payload is not a JSON object {"revoke":{...}}')
          end
          local now = tonumber(redis.call('TIME')[1])
          local revoke = message.revoke
          if type(revoke.at) ~= 'number' then revoke.at = now end
          -- 'until' is a Lua keyword: only the bracket form reaches the field.
          if type(revoke['until']) ~= 'number' then revoke['until'] = revoke.at + 86400 end
          local payload = cjson.encode(message)
          redis.call('ZREMRANGEBYSCORE', keys[1], '-inf', now)
          redis.call('ZADD', keys[1], revoke['until'], payload)
          return redis.call('PUBLISH', 'sse:control', payload)
        end)
        """#
}
