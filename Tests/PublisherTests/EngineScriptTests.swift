import Foundation
import LocalRedis
import SSETestSupport
import Testing

@testable import Publisher

#if canImport(Glibc)
    import Glibc
#endif

/// Runs engine.js's pure parts, its connection logic and its tab sharing under node with in-memory fakes of the
/// DOM, EventSource, fetch, BroadcastChannel, Web Locks, localStorage and timers. Fails (does not skip) when `node`
/// is missing: these are the only checks of most of engine.js's logic.
@Suite("engine.js under node with a fake DOM")
struct EngineScriptTests {
    static var node: String? {
        for directory in ["/usr/bin", "/usr/local/bin", "/bin"]
        where FileManager.default.isExecutableFile(atPath: directory + "/node") {
            return directory + "/node"
        }
        return nil
    }

    /// Writes engine.js and `script` to a fresh folder, runs the script with node and checks its last line.
    static func runUnderNode(_ script: String, expecting lastLine: String) async throws {
        let node = try #require(
            Self.node, "node is not installed (apt-get install nodejs): engine.js's checks cannot run without it")
        let directory = NSTemporaryDirectory() + "/engine-js-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try PublisherResources.engineScript().write(toFile: directory + "/engine.js", atomically: true, encoding: .utf8)
        try script.write(toFile: directory + "/test.js", atomically: true, encoding: .utf8)
        let result = try await runProgram(node, [directory + "/test.js"], timeout: .seconds(60))
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.hasSuffix(lastLine + "\n"), "\(result.output)")
    }

    @Test func patchesConnectionStatesResyncAndTheWatchdogBehaveAsDocumented() async throws {
        try await Self.runUnderNode(Self.harness, expecting: "all engine.js checks passed")
    }

    @Test func tabsShareOneStreamThroughLeaderElectionTakeoverJoinsEndsAndResyncsWithoutARepeatedEvent() async throws {
        try await Self.runUnderNode(
            Self.sharedFakes + "\n" + Self.sharedChecks, expecting: "all shared engine.js checks passed")
    }

    /// The node script: every check throws on failure (exit status 1 with the message).
    static let harness = #"""
        'use strict';
        const assert = require('assert');
        const engine = require('./engine.js');

        function element(id, attributes) {
          return { id, attributes: attributes || {}, innerHTML: 'old', textContent: 'old',
            getAttribute(name) { return name in this.attributes ? this.attributes[name] : null; },
            setAttribute(name, value) { this.attributes[name] = String(value); } };
        }
        function fakeDocument(elements) {
          return {
            events: [],
            getElementById(id) { return elements.find((e) => e.id === id) || null; },
            querySelectorAll(selector) {
              const name = selector.replace(/^\[|\]$/g, '');
              return elements.filter((e) => name in e.attributes);
            },
            dispatchEvent(event) { this.events.push(event); }
          };
        }
        function fakeWindow() {
          const win = { Function, console: { error() { win.errors = (win.errors || 0) + 1; } } };
          win.CustomEvent = function (type, init) { this.type = type; this.detail = init.detail; };
          return win;
        }

        // applyPatch: html by id (missing ids ignored), variables and their bound elements, exec last.
        {
          const posts = element('posts'), count = element(null, { 'data-bind': 'postCount' });
          const other = element(null, { 'data-bind': 'other' });
          const doc = fakeDocument([posts, count, other]), win = fakeWindow();
          global.order = [];
          const changes = engine.applyPatch({ html: { posts: '<li>a</li>', missing: 'x' },
            js: { postCount: 3, user: { n: 1 }, exec: 'order.push(window_check())' } }, doc,
            Object.assign(win, { Function: function (code) { return () => global.order.push(code); } }));
          assert.strictEqual(posts.innerHTML, '<li>a</li>');
          assert.strictEqual(count.textContent, '3');
          assert.strictEqual(other.textContent, 'old');
          assert.strictEqual(win.postCount, 3);
          assert.deepStrictEqual(win.user, { n: 1 });
          assert.deepStrictEqual(global.order, ['order.push(window_check())']);
          assert.strictEqual(changes, 4);
          const failing = fakeWindow();
          assert.strictEqual(engine.applyPatch({ js: { exec: 'throw new Error("x")' } }, doc, failing), 0);
          assert.strictEqual(failing.errors, 1);
          assert.strictEqual(engine.applyPatch(null, doc, win), 0);
        }

        // parsePatch, compareIds, streamURL.
        assert.deepStrictEqual(engine.parsePatch('{"html":{"a":"b"}}'), { html: { a: 'b' } });
        assert.strictEqual(engine.parsePatch('{"other":1}'), null);
        assert.strictEqual(engine.parsePatch('{not json'), null);
        assert.strictEqual(engine.parsePatch('hello'), null);
        assert.ok(engine.compareIds('1700000000000-2', '1700000000000-10') < 0);
        assert.ok(engine.compareIds('1700000000001-0', '1700000000000-99') > 0);
        assert.strictEqual(engine.compareIds('5-5', '5-5'), 0);
        assert.strictEqual(engine.streamURL('', ['board'], null), '/sse?topic=board&heartbeat=event');
        assert.strictEqual(engine.streamURL('http://gw:8080', ['a b', 'c'], '1-2'),
          'http://gw:8080/sse?topic=a%20b&topic=c&lastEventId=1-2&heartbeat=event');

        // The connection: states, ids, resync with buffering, the watchdog.
        (async () => {
          const sources = [];
          function FakeEventSource(url) { this.url = url; this.listeners = {}; this.readyState = 0; sources.push(this); }
          FakeEventSource.prototype.addEventListener = function (name, f) { this.listeners[name] = f; };
          FakeEventSource.prototype.close = function () { this.readyState = 2; this.closed = true; };
          const state = element(null, { 'data-sse-state': '' }), posts = element('posts');
          const doc = fakeDocument([state, posts]), win = fakeWindow();
          win.EventSource = FakeEventSource;
          let answerModel;
          win.fetch = (url) => new Promise((resolve) => { answerModel = (body) => resolve({ ok: true, json: () => body }); });
          const connection = new engine.Engine({ topics: ['board'], base: '', heartbeat: '1', lastId: '10-0',
            modelURL: '/model' }, doc, win);
          connection.connect();
          assert.strictEqual(sources[0].url, '/sse?topic=board&lastEventId=10-0&heartbeat=event');
          assert.strictEqual(state.textContent, 'connecting');
          sources[0].onopen();
          assert.strictEqual(state.getAttribute('data-state'), 'live');
          sources[0].onmessage({ data: '{"html":{"posts":"v11"}}', lastEventId: '11-0' });
          assert.strictEqual(posts.innerHTML, 'v11');
          assert.strictEqual(connection.lastId, '11-0');
          sources[0].onmessage({ data: 'plain text', lastEventId: '11-0' });
          assert.strictEqual(doc.events[0].type, 'engine:message');
          assert.strictEqual(doc.events[0].detail, 'plain text');

          sources[0].listeners.resync({ data: '{"reason":"history-trimmed"}' });
          assert.strictEqual(state.textContent, 'resync');
          sources[0].onmessage({ data: '{"html":{"posts":"v12"}}', lastEventId: '12-0' });
          sources[0].onmessage({ data: '{"html":{"posts":"v14"}}', lastEventId: '14-0' });
          assert.strictEqual(posts.innerHTML, 'v11');  // held until the model is in
          answerModel({ id: '13-0', patch: { html: { posts: 'model13' } } });
          // Wait for the reload to finish (the held events are released), bounded by turns of the event loop.
          for (let turn = 0; turn < 1000 && connection.reloading !== null; turn++) {
            await new Promise((resolve) => setImmediate(resolve));
          }
          assert.strictEqual(connection.reloading, null, 'the model reload finished');
          assert.strictEqual(posts.innerHTML, 'v14');  // model applied, then only the event newer than it
          assert.strictEqual(connection.lastId, '14-0');
          assert.strictEqual(state.textContent, 'live');

          // Not armed (no heartbeat event seen): silence is left to the browser.
          assert.strictEqual(connection.check(Date.now() + 10000), false);
          sources[0].listeners.heartbeat({});
          assert.strictEqual(connection.check(Date.now() + 1500), false);
          assert.strictEqual(connection.check(Date.now() + 2500), true);
          assert.strictEqual(sources[0].closed, true);
          assert.strictEqual(sources[1].url, '/sse?topic=board&lastEventId=14-0&heartbeat=event');
          assert.strictEqual(state.textContent, 'reconnecting');
          sources[1].onerror();
          assert.strictEqual(state.textContent, 'reconnecting');
          sources[1].onopen();
          assert.strictEqual(state.textContent, 'live');
          console.log('all engine.js checks passed');
        })().catch((error) => { console.error(error); process.exit(1); });
        """#
}
