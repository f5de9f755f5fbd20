import Foundation

extension EngineScriptTests {
    /// The in-memory browser the shared-stream checks run in: virtual time and a task queue (``World``), and per tab
    /// fakes of `BroadcastChannel`, `navigator.locks`, `localStorage`, `EventSource`, timers and a tiny DOM that follow
    /// the browser's rules where engine.js relies on them: a channel never hears its own messages, a lock goes to the
    /// next waiter when its holder's tab goes, an `EventSource` repeats the last id on an event without one.
    static let sharedFakes = #"""
        'use strict';
        const assert = require('assert');
        const engine = require('./engine.js');

        // A deterministic browser: virtual time, a task queue (channel messages, lock grants) and the fakes the tabs share.
        class World {
          constructor() { this.now = 1000; this.tasks = []; this.timers = []; this.channels = []; this.locks = {};
            this.storage = new Map(); this.sources = []; }
          queue(task) { this.tasks.push(task); }
          run() {
            for (let n = 0; this.tasks.length; n++) { if (n > 100000) throw new Error('runaway tasks'); this.tasks.shift()(); }
          }
          timer(tab, fn, ms, every) {
            const timer = { tab, fn, at: this.now + Math.max(0, ms || 0), every: every ? Math.max(1, ms) : 0, seq: this.timers.length };
            this.timers.push(timer);
            return timer;
          }
          // Runs tasks and the timers due within ms, in time order.
          advance(ms) {
            const end = this.now + ms;
            for (let n = 0; ; n++) {
              if (n > 100000) throw new Error('runaway timers');
              this.run();
              const due = this.timers.filter((t) => !t.cancelled && t.tab.alive && t.at <= end)
                .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
              if (!due) break;
              this.now = due.at;
              if (due.every) due.at += due.every; else due.cancelled = true;
              due.fn();
            }
            this.now = end;
            this.run();
          }
          request(tab, name, callback) {
            const lock = this.locks[name] = this.locks[name] || { holder: null, waiting: [] };
            lock.waiting.push({ tab, callback });
            this.queue(() => this.grant(name));
            return new Promise(() => {});
          }
          grant(name) {
            const lock = this.locks[name];
            if (lock.holder || !lock.waiting.length) return;
            const next = lock.waiting.shift();
            lock.holder = next.tab;
            next.callback({ name });
          }
          // The tab is gone: its channels and streams close, its locks go to the next waiter.
          release(tab) {
            this.channels = this.channels.filter((channel) => channel.tab !== tab);
            this.sources.filter((source) => source.tab === tab).forEach((source) => source.close());
            Object.keys(this.locks).forEach((name) => {
              const lock = this.locks[name];
              lock.waiting = lock.waiting.filter((w) => w.tab !== tab);
              if (lock.holder === tab) { lock.holder = null; this.queue(() => this.grant(name)); }
            });
          }
          get openSources() { return this.sources.filter((source) => source.readyState !== 2); }
          get last() { return this.sources[this.sources.length - 1]; }
        }

        class FakeChannel {
          constructor(world, tab, name) { this.world = world; this.tab = tab; this.name = name; this.onmessage = null;
            world.channels.push(this); }
          postMessage(message) {
            const copy = JSON.parse(JSON.stringify(message));
            this.world.channels.filter((c) => c !== this && c.name === this.name).forEach((channel) => {
              this.world.queue(() => { if (channel.tab.alive && channel.onmessage) channel.onmessage({ data: copy }); });
            });
          }
        }

        class FakeEventSource {
          constructor(world, tab, url, init) { this.world = world; this.tab = tab; this.url = url; this.init = init;
            this.readyState = 0; this.listeners = {}; this.buffer = ''; world.sources.push(this); }
          addEventListener(type, listener) { (this.listeners[type] = this.listeners[type] || []).push(listener); }
          close() { this.readyState = 2; }
          open() { this.readyState = 1; this.onopen({}); this.world.run(); }
          // An event as EventSource reports it: the id buffer keeps the last id for events without one.
          emit(type, data, id) {
            if (id !== undefined) this.buffer = id;
            const event = { type, data, lastEventId: this.buffer };
            if (type === 'message') this.onmessage(event); else (this.listeners[type] || []).forEach((f) => f(event));
            this.world.run();
          }
          listened() { return Object.keys(this.listeners).sort(); }
        }

        // Runs the world's tasks and node's promise jobs until both are quiet (bounded: 50 turns).
        async function settle(world) {
          for (let turn = 0; turn < 50; turn++) { world.run(); await new Promise((resolve) => setImmediate(resolve)); }
          world.run();
        }
        const GW = 'http://gw.test/sse?';
        function patch(topic, id, html) { return topic + '\n' + JSON.stringify({ html: { [id]: html } }); }

        function element(id, attributes) {
          return { id, attributes: attributes || {}, innerHTML: 'old', textContent: 'old',
            getAttribute(name) { return name in this.attributes ? this.attributes[name] : null; },
            setAttribute(name, value) { this.attributes[name] = String(value); } };
        }

        class Tab {
          constructor(world, options) {
            options = options || {};
            const tab = this;
            this.world = world; this.alive = true; this.errors = []; this.handlers = {}; this.fetches = [];
            this.elements = [element(null, { 'data-sse-state': '' }), element(null, { 'data-sse-role': '' }),
              element('posts'), element('news')];
            this.doc = { events: [],
              getElementById: (id) => tab.elements.find((e) => e.id === id) || null,
              querySelectorAll: (selector) => tab.elements.filter((e) => selector.replace(/^\[|\]$/g, '') in e.attributes),
              dispatchEvent(event) { this.events.push(event); } };
            const win = this.win = {
              Date: { now: () => world.now }, Function, URL, MessageEvent, Event,
              setTimeout: (fn, ms) => world.timer(tab, fn, ms, false), setInterval: (fn, ms) => world.timer(tab, fn, ms, true),
              clearTimeout: (t) => { if (t) t.cancelled = true; }, clearInterval: (t) => { if (t) t.cancelled = true; },
              EventSource: function (url, init) { return new FakeEventSource(world, tab, url, init); },
              navigator: options.locks === false ? {} : { locks: { request: (name, f) => world.request(tab, name, f) } },
              localStorage: { getItem: (k) => (world.storage.has(k) ? world.storage.get(k) : null),
                setItem: (k, v) => world.storage.set(k, String(v)), removeItem: (k) => world.storage.delete(k) },
              location: { href: 'http://app.test/board' },
              addEventListener: (type, f) => { tab.handlers[type] = f; },
              console: { error: (e) => tab.errors.push(String(e)) },
              CustomEvent: function (type, init) { this.type = type; this.detail = init.detail; },
              fetch: (url) => { tab.fetches.push(url);
                return Promise.resolve({ ok: true, json: () => ({ id: tab.modelID, patch: { html: { posts: 'model' } } }) }); }
            };
            if (options.channels !== false) win.BroadcastChannel = function (name) { return new FakeChannel(world, tab, name); };
          }
          engine(topics, lastId, extra) {
            this.connection = new engine.Engine(Object.assign({ topics, base: 'http://gw.test', heartbeat: '1', lastId,
              modelURL: '/model', share: true }, extra || {}), this.doc, this.win);
            this.connection.connect();
            this.world.advance(0);
            return this.connection;
          }
          get state() { return this.elements[0].getAttribute('data-state'); }
          get role() { return this.elements[1].getAttribute('data-role'); }
          html(id) { return this.doc.getElementById(id).innerHTML; }
          close() { this.handlers.pagehide(); this.alive = false; this.world.release(this); this.world.advance(0); }
          crash() { this.alive = false; this.world.release(this); this.world.advance(0); }
        }

        """#
}
