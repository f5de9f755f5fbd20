import Foundation

extension EngineScriptTests {
    /// The shared-stream checks (run after ``sharedFakes``): election and takeover, the union of topics in the URL,
    /// routing by tag, the id rule, `end` and `resync` routing, the localStorage lease, `SharedEventSource`, the
    /// watchdog. Every check throws on failure (exit status 1 with the message); the last line says all passed.
    static let sharedChecks = #"""


        (async () => {
          // 1. Election, one stream, the union of topics, routing by tag, the id rule for a late joiner.
          {
            const world = new World();
            const a = new Tab(world), b = new Tab(world), c = new Tab(world);
            const ea = a.engine(['board'], '100-0');
            assert.strictEqual(ea.role, 'leader');
            assert.strictEqual(a.role, 'leader');
            assert.deepStrictEqual(world.sources.map((s) => s.url), [GW + 'topic=board&lastEventId=100-0&heartbeat=event&tag=topic']);
            assert.strictEqual(world.last.init, undefined);
            assert.strictEqual(a.state, 'connecting');
            const eb = b.engine(['board'], '100-0');
            assert.strictEqual(eb.role, 'follower');
            assert.strictEqual(world.sources.length, 1, 'a tab rendered at the stream\'s point joins without a reopen');
            world.last.open();
            assert.deepStrictEqual([a.state, b.state], ['live', 'live']);
            world.last.emit('message', patch('board', 'posts', 'p101'), '101-0');
            assert.deepStrictEqual([a.html('posts'), b.html('posts')], ['p101', 'p101']);
            const ec = c.engine(['news'], '100-5');
            assert.strictEqual(world.sources.length, 2);
            assert.strictEqual(world.sources[0].readyState, 2);
            assert.strictEqual(world.last.url, GW + 'topic=board&topic=news&lastEventId=100-5&heartbeat=event&tag=topic');
            assert.strictEqual(world.openSources.length, 1);
            world.last.open();
            world.last.emit('message', patch('board', 'posts', 'p101'), '101-0');  // replayed for c's sake
            world.last.emit('message', patch('news', 'news', 'n102'), '102-0');
            world.last.emit('message', patch('board', 'posts', 'p103'), '103-0');
            assert.deepStrictEqual([ea.applied, eb.applied, ec.applied], [['101-0', '103-0'], ['101-0', '103-0'], ['102-0']]);
            assert.deepStrictEqual([a.html('news'), c.html('news'), c.html('posts')], ['old', 'n102', 'old']);
            assert.deepStrictEqual([c.state, c.role], ['live', 'follower']);

            // 2. The leader's tab closes: the next tab leads at once and resumes from its last id; nothing twice.
            a.close();
            assert.deepStrictEqual([eb.role, ec.role], ['leader', 'follower']);
            assert.strictEqual(world.sources.length, 3);
            assert.strictEqual(world.last.url, GW + 'topic=board&topic=news&lastEventId=103-0&heartbeat=event&tag=topic');
            assert.deepStrictEqual([b.state, c.state], ['reconnecting', 'reconnecting']);
            world.last.open();
            assert.deepStrictEqual([b.state, c.state], ['live', 'live']);
            world.last.emit('message', patch('board', 'posts', 'p103'), '103-0');  // in flight when the old leader went
            world.last.emit('message', patch('board', 'posts', 'p104'), '104-0');
            world.advance(2500);  // the hello round and the lazy shrink change nothing: every member answered
            assert.strictEqual(world.sources.length, 3);
            assert.deepStrictEqual([eb.applied, ec.applied], [['101-0', '103-0', '104-0'], ['102-0']]);

            // 3. The leader's tab crashes (no pagehide): its member lingers until the hello round prunes it, then the
            // stream reopens lazily without its topic.
            b.crash();
            assert.strictEqual(ec.role, 'leader');
            assert.strictEqual(world.last.url, GW + 'topic=board&topic=news&lastEventId=104-0&heartbeat=event&tag=topic');
            world.last.open();
            world.advance(1400);
            assert.strictEqual(world.sources.length, 4);
            world.advance(2200);
            assert.strictEqual(world.sources.length, 5);
            assert.strictEqual(world.last.url, GW + 'topic=news&lastEventId=104-0&heartbeat=event&tag=topic');
            assert.deepStrictEqual(world.openSources, [world.last]);
          }

          // 4. resync and end go to the tabs of the topics they name; a resync ending a replay goes to every tab.
          {
            const world = new World();
            const a = new Tab(world), b = new Tab(world);
            const ea = a.engine(['board'], '1-0'), eb = b.engine(['news'], '1-0');
            assert.strictEqual(world.last.url, GW + 'topic=board&topic=news&lastEventId=1-0&heartbeat=event&tag=topic');
            assert.strictEqual(world.sources.length, 2);
            world.last.open();
            world.last.emit('message', patch('news', 'news', 'n2'), '2-0');
            b.modelID = '3-0';
            world.last.emit('resync', '{"reason":"history-trimmed","topics":["news"]}');
            assert.deepStrictEqual([a.state, b.state, a.fetches, b.fetches], ['live', 'resync', [], ['/model']]);
            await settle(world);
            assert.deepStrictEqual([b.state, b.html('posts'), eb.lastId], ['live', 'model', '3-0']);
            world.last.emit('message', patch('news', 'news', 'n3'), '3-0');  // the model had it already
            world.last.emit('message', patch('news', 'news', 'n4'), '4-0');
            assert.deepStrictEqual([ea.applied, eb.applied], [[], ['2-0', '4-0']]);
            assert.strictEqual(world.sources.length, 2, 'a reload does not reopen the stream');

            world.last.emit('end', '{"reason":"retired","topics":["news"]}');
            assert.strictEqual(world.sources[0].readyState, 2);
            assert.deepStrictEqual([a.state, b.state, world.sources.length], ['live', 'ended', 3]);
            assert.strictEqual(world.last.url, GW + 'topic=board&lastEventId=4-0&heartbeat=event&tag=topic');
            world.last.open();
            assert.deepStrictEqual([a.state, b.state], ['live', 'ended']);
            world.last.emit('message', patch('board', 'posts', 'p5'), '5-0');
            world.last.emit('end', '{"reason":"retired","topics":["board"]}');
            assert.deepStrictEqual([a.state, world.sources.length, world.openSources.length], ['ended', 3, 0]);
            assert.deepStrictEqual([ea.applied, eb.applied], [['5-0'], ['2-0', '4-0']]);

            // A stream reopened from a resume point whose first word is resync: the resume failed for all.
            const world2 = new World();
            const c = new Tab(world2), d = new Tab(world2);
            c.modelID = '9-0'; d.modelID = '9-0';
            c.engine(['board'], '5-0');
            world2.last.open();
            d.engine(['news'], '4-0');
            assert.strictEqual(world2.last.url, GW + 'topic=board&topic=news&lastEventId=4-0&heartbeat=event&tag=topic');
            world2.last.open();
            world2.last.emit('resync', '{"reason":"history-trimmed","topics":["news"]}');
            assert.deepStrictEqual([c.fetches, d.fetches], [['/model'], ['/model']]);
          }

          // 5. Without Web Locks: the localStorage lease; taken over 3 s after the leader stopped renewing it.
          {
            const world = new World();
            const a = new Tab(world, { locks: false }), b = new Tab(world, { locks: false });
            const ea = a.engine(['board'], '7-0');
            assert.strictEqual(ea.role, 'follower', 'the claim is checked 150 ms after writing it');
            world.advance(150);
            assert.strictEqual(ea.role, 'leader');
            const eb = b.engine(['board'], '7-0');
            world.advance(1000);
            assert.deepStrictEqual([ea.role, eb.role, world.sources.length], ['leader', 'follower', 1]);
            world.last.open();
            world.last.emit('message', patch('board', 'posts', 'p8'), '8-0');
            const renewed = JSON.parse(world.storage.values().next().value).at;
            a.crash();
            world.advance(renewed + 3000 - world.now);
            assert.strictEqual(eb.role, 'follower', 'a lease 3 s old is not stale yet');
            world.advance(1150);
            assert.strictEqual(eb.role, 'leader');
            assert.strictEqual(world.last.url, GW + 'topic=board&lastEventId=8-0&heartbeat=event&tag=topic');
            world.last.open();
            world.last.emit('message', patch('board', 'posts', 'p8'), '8-0');
            world.last.emit('message', patch('board', 'posts', 'p9'), '9-0');
            assert.deepStrictEqual([ea.applied, eb.applied], [['8-0'], ['8-0', '9-0']]);
            // An orderly close gives the lease up: the next tab leads within a second.
            const c = new Tab(world, { locks: false }), ec = c.engine(['board'], '9-0');
            b.close();
            world.advance(1150);
            assert.strictEqual(ec.role, 'leader');

            // Neither Web Locks nor localStorage, or no BroadcastChannel, or data-share="off": each tab on its own, as before.
            const alone = new Tab(new World(), { channels: false }), ealone = alone.engine(['board'], '9-0');
            const off = new Tab(new World()), eoff = off.engine(['board'], '9-0', { share: false });
            assert.deepStrictEqual([ealone.role, eoff.role, alone.role], ['solo', 'solo', 'solo']);
            assert.strictEqual(alone.world.last.url, 'http://gw.test/sse?topic=board&lastEventId=9-0&heartbeat=event');
            assert.strictEqual(off.world.last.url, 'http://gw.test/sse?topic=board&lastEventId=9-0&heartbeat=event');
          }

          // 6. SharedEventSource: EventSource's surface; named events; events without ids in a replay.
          {
            const world = new World();
            const a = new Tab(world), b = new Tab(world), c = new Tab(world);
            const got = { a: [], b: [], c: [] };
            const record = (name) => function (event) {
              got[name].push([event.type, event.data, event.lastEventId, event.target === this, this.readyState]);
            };
            const sa = new engine.SharedEventSource('http://gw.test/sse?topic=board&dialect=htmx', { withCredentials: true }, a.win);
            sa.addEventListener('posts', record('a'));
            sa.onopen = record('a');
            assert.deepStrictEqual([sa.readyState, sa.CONNECTING, engine.SharedEventSource.CLOSED, sa.withCredentials],
              [0, 0, 2, true]);
            world.advance(0);
            assert.strictEqual(sa.role, 'leader');
            assert.strictEqual(world.last.url, GW + 'topic=board&heartbeat=event&tag=topic&dialect=htmx');
            assert.deepStrictEqual(world.last.init, { withCredentials: true });
            const sb = new engine.SharedEventSource('http://gw.test/sse?topic=board&dialect=htmx', { withCredentials: true }, b.win);
            const listener = record('b');
            sb.addEventListener('posts', listener);
            sb.addEventListener('sse-script', listener);
            sb.onmessage = record('b');
            world.advance(0);
            assert.deepStrictEqual([world.sources.length, world.last.listened()], [1, ['end', 'heartbeat', 'posts', 'resync',
              'revoked', 'sse-script', 'token-expired']]);
            world.last.open();
            world.last.emit('sse-script', 'board\n<script>a</script>');  // no id yet
            world.last.emit('posts', 'board\n<li>5</li>', '5-0');
            world.last.emit('message', 'board\nplain');
            const sc = new engine.SharedEventSource('http://gw.test/sse?topic=board&topic=news&dialect=htmx&lastEventId=3-0',
              { withCredentials: true }, c.win);
            sc.addEventListener('posts', record('c'));
            sc.addEventListener('sse-script', record('c'));
            world.advance(0);
            assert.strictEqual(world.last.url, GW + 'topic=board&topic=news&lastEventId=3-0&heartbeat=event&tag=topic&dialect=htmx');
            world.last.open();
            world.last.emit('sse-script', 'board\n<script>a</script>');  // the replay from 3-0: part of 5-0
            world.last.emit('posts', 'board\n<li>5</li>', '5-0');
            world.last.emit('sse-script', 'board\n<script>b</script>');   // new: part of 6-0
            world.last.emit('posts', 'board\n<li>6</li>', '6-0');
            assert.deepStrictEqual(got.a, [['open', undefined, undefined, true, 1], ['posts', '<li>5</li>', '5-0', true, 1],
              ['posts', '<li>6</li>', '6-0', true, 1]]);
            assert.deepStrictEqual(got.b, [['sse-script', '<script>a</script>', '', true, 1], ['posts', '<li>5</li>', '5-0', true, 1],
              ['message', 'plain', '5-0', true, 1], ['sse-script', '<script>b</script>', '5-0', true, 1],
              ['posts', '<li>6</li>', '6-0', true, 1]]);
            assert.deepStrictEqual(got.c, [['sse-script', '<script>a</script>', '3-0', true, 1], ['posts', '<li>5</li>', '5-0', true, 1],
              ['sse-script', '<script>b</script>', '5-0', true, 1], ['posts', '<li>6</li>', '6-0', true, 1]]);
            sb.removeEventListener('posts', listener);
            world.last.emit('posts', 'board\n<li>7</li>', '7-0');
            assert.strictEqual(got.b.length, 5);
            sb.close();
            assert.strictEqual(sb.readyState, 2);
            world.last.emit('end', '{"reason":"retired","topics":["board","news"]}');
            assert.deepStrictEqual([sa.readyState, sc.readyState, world.openSources.length], [2, 2, 0]);
          }

          // 7. The watchdog: two heartbeat intervals of silence reopen the stream from the last id; followers see it.
          {
            const world = new World();
            const a = new Tab(world), b = new Tab(world);
            a.engine(['board'], '1-0'); b.engine(['board'], '1-0');
            world.last.open();
            world.last.emit('message', patch('board', 'posts', 'p2'), '2-0');
            world.last.emit('heartbeat', '');
            world.advance(2000);
            assert.strictEqual(world.sources.length, 1);
            world.advance(750);
            assert.strictEqual(world.sources.length, 2);
            assert.strictEqual(world.last.url, GW + 'topic=board&lastEventId=2-0&heartbeat=event&tag=topic');
            assert.deepStrictEqual([a.state, b.state], ['reconnecting', 'reconnecting']);
          }
          console.log('all shared engine.js checks passed');
        })().catch((error) => { console.error(error); process.exit(1); });
        """#
}
