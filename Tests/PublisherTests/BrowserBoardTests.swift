import Foundation
import LocalRedis
import SSETestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The board in a real browser: headless Chromium loads the page from sse-publisher, engine.js streams from
/// sse-gateway on another origin, and posts made elsewhere and through the page's own form show up live.
/// Driven over the DevTools protocol by a node script; skipped when `chromium` or `node` (20+) is missing.
@Suite("The board in headless Chromium (real processes)")
struct BrowserBoardTests {
    static var tools: (node: String, chromium: String)? {
        let fm = FileManager.default
        guard fm.isExecutableFile(atPath: "/usr/bin/node"), fm.isExecutableFile(atPath: "/usr/bin/chromium") else {
            return nil
        }
        return ("/usr/bin/node", "/usr/bin/chromium")
    }

    @Test(.enabled(if: BrowserBoardTests.tools != nil, "chromium or node is not installed"))
    func postsFromAnywhereAppearLiveAndThePageFormResetsOrShowsErrors() async throws {
        let tools = try #require(Self.tools)
        try await withLocalRedis { redis in
            let gateway = try await GatewayProcess.start(redis: redis)
            let publisher = try await PublisherProcess.start(
                redis: redis, arguments: ["--sse-url", "http://127.0.0.1:\(gateway.port)"])
            let seeded = try await publisher.postForm("/add_post", [("author", "seed"), ("text", "before the page")])
            #expect(seeded.status == 303)

            let directory = NSTemporaryDirectory() + "/board-browser-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try Self.driver.write(toFile: directory + "/drive.js", atomically: true, encoding: .utf8)
            let output = directory + "/out.json"
            let child = try ChildProcess(
                tools.node,
                [
                    "--experimental-websocket", directory + "/drive.js", tools.chromium,
                    String(try freeLoopbackPort()), directory + "/profile", "http://127.0.0.1:\(publisher.port)",
                ], output: .file(output))
            if await child.exit(within: .seconds(90)) == nil { child.kill() }
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            let line = try #require(text.split(separator: "\n").last { $0.hasPrefix("{") }, "\(text)")
            let result = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(result["error"] == nil, "\(text)")
            #expect(result["loaded"] as? String == "live|1|before the page")
            #expect(result["afterRemotePost"] as? String == "2|from curl &amp; co|New post by remote")
            #expect(result["afterFormPost"] as? String == "3|&lt;b&gt;typed&lt;/b&gt;||New post by chromium")
            #expect(
                result["afterInvalidPost"] as? String
                    == #"<ul id="post-errors" class="errors" data-errors=""><li data-field="text">text is required: write 1–280 characters</li></ul>"#
            )
            #expect(result["exceptions"] as? [String] == [])
        }
    }

    /// node drive.js CHROMIUM PORT PROFILE URL: prints one JSON line of observations (or {"error": …}).
    static let driver = #"""
        'use strict';
        const { spawn } = require('child_process');
        const [chromium, port, profile, base] = process.argv.slice(2);
        const chrome = spawn(chromium, ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run',
          `--remote-debugging-port=${port}`, `--user-data-dir=${profile}`, 'about:blank'], { stdio: 'ignore' });
        const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
        const result = { exceptions: [] };
        const finish = (code) => { chrome.kill('SIGKILL'); console.log(JSON.stringify(result)); process.exit(code); };
        (async () => {
          let target;
          for (let i = 0; i < 300 && !target; i++) {
            await sleep(100);
            try { target = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()).find((t) => t.type === 'page'); } catch (e) {}
          }
          if (!target) throw new Error('chromium did not open its DevTools port');
          const ws = new WebSocket(target.webSocketDebuggerUrl);
          await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
          let next = 0; const pending = new Map();
          ws.onmessage = (message) => {
            const msg = JSON.parse(message.data);
            if (msg.id && pending.has(msg.id)) { pending.get(msg.id)(msg); pending.delete(msg.id); }
            if (msg.method === 'Runtime.exceptionThrown') result.exceptions.push(msg.params.exceptionDetails.text);
          };
          const send = (method, params) => new Promise((resolve) => {
            const id = ++next; pending.set(id, resolve); ws.send(JSON.stringify({ id, method, params: params || {} }));
          });
          const evaluate = async (expression) =>
            (await send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true })).result.result.value;
          const until = async (expression, what) => {
            for (let i = 0; i < 150; i++) { if (await evaluate(expression)) return; await sleep(100); }
            throw new Error('timed out waiting for ' + what);
          };
          const snapshot = `[document.querySelector('[data-bind=postCount]').textContent,
            document.querySelector('#posts li .text').innerHTML,
            (document.querySelector('.notice:last-child') || {}).textContent || ''].join('|')`;
          await send('Runtime.enable'); await send('Page.enable');
          await send('Page.navigate', { url: base + '/' });
          await until(`document.querySelector('[data-sse-state]') && document.querySelector('[data-sse-state]').textContent === 'live'`, 'live');
          result.loaded = await evaluate(`document.querySelector('[data-sse-state]').textContent + '|' +
            document.querySelector('[data-bind=postCount]').textContent + '|' + document.querySelector('#posts li .text').innerHTML`);

          const posted = await fetch(base + '/add_post', { method: 'POST', redirect: 'manual',
            headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ author: 'remote', text: 'from curl & co' }) });
          if (posted.status !== 303) throw new Error('remote post answered ' + posted.status);
          await until(`document.querySelector('[data-bind=postCount]').textContent === '2' && document.querySelector('.notice')`, 'the remote post');
          result.afterRemotePost = await evaluate(snapshot);

          await evaluate(`document.getElementById('post-author').value = 'chromium';
            document.getElementById('post-text').value = '<b>typed</b>';
            document.querySelector('#post-form').requestSubmit(); true`);
          await until(`document.querySelector('[data-bind=postCount]').textContent === '3' && document.getElementById('post-text').value === ''
            && document.querySelector('.notice:last-child').textContent === 'New post by chromium'`, 'the form post');
          result.afterFormPost = await evaluate(`[document.querySelector('[data-bind=postCount]').textContent,
            document.querySelector('#posts li .text').innerHTML, document.getElementById('post-text').value,
            document.querySelector('.notice:last-child').textContent].join('|')`);

          await evaluate(`document.getElementById('post-text').removeAttribute('required');
            document.getElementById('post-text').value = '   '; document.querySelector('#post-form').requestSubmit(); true`);
          await until(`document.getElementById('post-errors').children.length === 1`, 'the field error');
          result.afterInvalidPost = await evaluate(`document.getElementById('post-errors').outerHTML`);
          finish(0);
        })().catch((error) => { result.error = String(error && error.stack || error); finish(1); });
        """#
}
