import Foundation
import Testing

extension EngineScriptTests {
    @Test func aStreamWhoseTokenExpiredReopensFromItsLastIDAfterAFreshCookieAndARevokedOneStaysClosed()
        async throws
    {
        try await Self.runUnderNode(
            Self.sharedFakes + "\n" + Self.tokenChecks, expecting: "all token engine.js checks passed")
    }

    /// Private topics in engine.js (run after ``sharedFakes``): with a token URL the stream is opened with
    /// credentials; `token-expired` closes it, POSTs to the token URL and reopens from the last id; `revoked` stops it
    /// for every tab. Shared by two tabs, and alone.
    static let tokenChecks = #"""

        (async () => {
          // Two tabs share the private stream; the leader's token expires.
          {
            const world = new World();
            const a = new Tab(world), b = new Tab(world);
            const ea = a.engine(['user.42'], '10-0', { tokenURL: '/token' });
            const eb = b.engine(['user.42'], '10-0', { tokenURL: '/token' });
            assert.strictEqual(world.sources.length, 1);
            assert.deepStrictEqual(world.last.init, { withCredentials: true });
            world.last.open();
            world.last.emit('message', patch('user.42', 'posts', 'p11'), '11-0');
            assert.deepStrictEqual([ea.applied, eb.applied], [['11-0'], ['11-0']]);

            world.last.emit('token-expired', '{"exp":1767225600}');
            assert.strictEqual(world.sources[0].readyState, 2);
            assert.deepStrictEqual([a.state, b.state], ['reconnecting', 'reconnecting']);
            await settle(world);
            assert.deepStrictEqual(a.fetches, ['/token'], 'the leader asked for a fresh cookie once');
            assert.deepStrictEqual(b.fetches, []);
            assert.strictEqual(world.sources.length, 2);
            assert.strictEqual(world.last.url, GW + 'topic=user.42&lastEventId=11-0&heartbeat=event&tag=topic');
            assert.deepStrictEqual(world.last.init, { withCredentials: true });
            world.last.open();
            assert.deepStrictEqual([a.state, b.state], ['live', 'live']);
            world.last.emit('message', patch('user.42', 'posts', 'p12'), '12-0');
            assert.deepStrictEqual([ea.applied, eb.applied], [['11-0', '12-0'], ['11-0', '12-0']]);

            world.last.emit('revoked', '{"reason":"signed out"}');
            world.advance(60000);
            assert.deepStrictEqual([a.state, b.state], ['revoked', 'revoked']);
            assert.strictEqual(world.sources.length, 2, 'a revoked stream is not reopened');
            assert.strictEqual(world.openSources.length, 0);
            for (const tab of [a, b]) {
              const revoked = tab.doc.events.filter((event) => event.type === 'engine:revoked');
              assert.deepStrictEqual(revoked.map((event) => event.detail), ['{"reason":"signed out"}']);
            }
          }

          // Alone (no sharing): the same, with the tab's own EventSource.
          {
            const world = new World();
            const tab = new Tab(world);
            const solo = tab.engine(['user.42'], null, { tokenURL: '/token', share: false });
            assert.strictEqual(solo.role, 'solo');
            assert.deepStrictEqual(world.last.init, { withCredentials: true });
            world.last.open();
            world.last.emit('message', '{"html":{"posts":"p5"}}', '5-0');
            world.last.emit('token-expired', '{"exp":1}');
            await settle(world);
            assert.deepStrictEqual(tab.fetches, ['/token']);
            assert.strictEqual(world.sources.length, 2);
            assert.strictEqual(world.last.url, 'http://gw.test/sse?topic=user.42&lastEventId=5-0&heartbeat=event');
            world.last.open();
            assert.strictEqual(tab.state, 'live');
            world.last.emit('revoked', '{"reason":"revoked"}');
            assert.strictEqual(tab.state, 'revoked');
            assert.strictEqual(world.openSources.length, 0);
          }

          // Without a token URL nothing changes: no credentials, no fetch.
          {
            const world = new World();
            const tab = new Tab(world);
            tab.engine(['board'], null);
            assert.strictEqual(world.last.init, undefined);
          }
          console.log('all token engine.js checks passed');
        })().catch((error) => { console.error(error); process.exit(1); });
        """#
}
