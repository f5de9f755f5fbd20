import RedisClient
import SSEProtocol

/// The Redis keys of the demo board and the function library `board` that changes and reads them atomically.
///
/// | key | type | holds |
/// | --- | --- | --- |
/// | `board:{board}:posts` | list | the newest posts as JSON (``Post``), newest first, capped at the board length |
/// | `board:{board}:stats` | hash | `version`: the model version (one more per change); `posts`: posts ever made |
/// | `board:{board}:published` | string | the model version whose render was last published (``BoardPublisher``) |
///
/// All three carry the hash tag `{board}`, the same as the topic's history stream `sse:{board}:history`, so on a
/// Redis Cluster they live in one slot and `board_read` may read that stream in the same atomic step.
///
/// To empty the board, delete the posts and the stats (`DEL board:{board}:posts board:{board}:stats`): the next
/// post then continues above the published version, so its render is not taken for an old one.
///
/// Why a function and not separate commands: the new version, the post, the trim and the counters must change
/// together, and the list returned must be exactly the list at that version, or a render could show a version
/// with a post missing or one too many. A function runs atomically and answers in one round trip.
enum BoardLibrary {
    /// The topic the board publishes on.
    static let topic = try! Topic(validating: "board")

    static let postsKey = "board:{board}:posts"
    static let statsKey = "board:{board}:stats"
    static let publishedKey = "board:{board}:published"

    static let library = RedisFunctionLibrary(name: "board", source: source)

    static let source = #"""
        #!lua name=board
        -- board: the live board's model for sse-publisher. version 1
        -- Keys (hash tag {board}): posts list (JSON, newest first), stats hash (version, posts).

        local function now_ms()
          local time = redis.call('TIME')
          return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        end

        local function parse_keep(keep)
          if not string.match(keep, '^%d+$') or tonumber(keep) < 1 then return nil end
          return tonumber(keep)
        end

        local function read(posts, stats, keep)
          local list = redis.call('LRANGE', posts, 0, keep - 1)
          local counts = redis.call('HMGET', stats, 'version', 'posts')
          return { tonumber(counts[1] or '0'), tonumber(counts[2] or '0'), list }
        end

        -- KEYS: posts list, stats hash, published version. ARGV: author, text, keep. Adds a post as the next model
        -- version, trims the list to keep entries, returns {version, posts ever, list}.
        redis.register_function('board_add', function(keys, args)
          if #keys ~= 3 or #args ~= 3 then
            return redis.error_reply('ERR board_add expects 3 keys (posts, stats, published) and 3 arguments '
              .. '(author, text, keep), found ' .. #keys .. ' keys and ' .. #args .. ' arguments')
          end
          local posts, stats, published = keys[1], keys[2], keys[3]
          local author, text = args[1], args[2]
          local keep = parse_keep(args[3])
          if not keep then
            return redis.error_reply('ERR board_add: keep "' .. args[3] .. '" is not a positive integer')
          end
          local version = redis.call('HINCRBY', stats, 'version', 1)
          -- Versions must stay above the last published one, or every render would count as stale; this holds
          -- even after someone deleted the stats hash to reset the board.
          local floor = tonumber(redis.call('GET', published) or '0') or 0
          if version <= floor then
            version = floor + 1
            redis.call('HSET', stats, 'version', string.format('%.0f', version))
          end
          redis.call('HINCRBY', stats, 'posts', 1)
          local post = '{"version":' .. string.format('%.0f', version) .. ',"at":' .. string.format('%.0f', now_ms())
            .. ',"author":' .. cjson.encode(author) .. ',"text":' .. cjson.encode(text) .. '}'
          redis.call('LPUSH', posts, post)
          redis.call('LTRIM', posts, 0, keep - 1)
          return read(posts, stats, keep)
        end)

        -- KEYS: posts list, stats hash, the topic's history stream. ARGV: keep. Returns {version, posts ever, list,
        -- id of the newest history entry or ""}.
        redis.register_function{
          function_name = 'board_read',
          flags = { 'no-writes' },
          callback = function(keys, args)
            if #keys ~= 3 or #args ~= 1 then
              return redis.error_reply('ERR board_read expects 3 keys (posts, stats, history) and 1 argument '
                .. '(keep), found ' .. #keys .. ' keys and ' .. #args .. ' arguments')
            end
            local keep = parse_keep(args[1])
            if not keep then
              return redis.error_reply('ERR board_read: keep "' .. args[1] .. '" is not a positive integer')
            end
            local result = read(keys[1], keys[2], keep)
            local newest = redis.call('XREVRANGE', keys[3], '+', '-', 'COUNT', 1)
            if #newest > 0 then result[4] = newest[1][1] else result[4] = '' end
            return result
          end
        }
        """#
}
