// dashboard.js: keeps /dashboard live from the gateway's own stream of the topic sse.nodes (one `node` event per
// node per second). The page works without it (a refresh shows the current state); this script updates the node
// table, the totals and the charts in place, and shows a node as down once it has missed two and a half beats
// (before its registry key, which lives 3 s after its last beat, expires). Charts are drawn as inline SVG with the same markup as the
// server's (SVGChart.swift); no library, nothing fetched from elsewhere.
(function () {
  'use strict';

  var WINDOW = 300000;
  var LEFT = 40, RIGHT = 590, TOP = 10, BOTTOM = 140;

  function axisMaximum(value) {
    if (!(value > 1)) return 1;
    var scale = 1;
    while (scale * 10 < value) scale *= 10;
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * scale >= value) return steps[i] * scale;
    return 10 * scale;
  }

  function escapeHTML(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  function coordinate(value) { return (Math.round(value * 10) / 10).toFixed(1); }

  // At most one decimal, as the server writes numbers (DashboardPage.number).
  function number(value) {
    var tenths = Math.round(value * 10);
    return String(tenths / 10);
  }

  // series: [{name, points: [[ms, value], …]}] oldest first; the same markup as SVGChart.svg.
  function chart(title, series, now) {
    var start = now - WINDOW;
    var visible = series.map(function (line) {
      return { name: line.name, points: line.points.filter(function (p) { return p[0] >= start && p[0] <= now; }) };
    });
    var highest = 0;
    visible.forEach(function (line) { line.points.forEach(function (p) { if (p[1] > highest) highest = p[1]; }); });
    var maximum = axisMaximum(highest);
    var out = '<svg class="chart" viewBox="0 0 600 160" role="img" aria-label="' + escapeHTML(title) + '">' +
      '<line class="axis" x1="40" y1="140" x2="590" y2="140"/>' +
      '<text class="tick" x="36" y="144" text-anchor="end">0</text>' +
      '<text class="tick" x="36" y="18" text-anchor="end">' + String(Math.round(maximum)) + '</text>' +
      '<text class="tick" x="590" y="156" text-anchor="end">now</text>' +
      '<text class="tick" x="40" y="156">-5 min</text>';
    visible.forEach(function (line, index) {
      var points = line.points.map(function (p) {
        var x = LEFT + (p[0] - start) / WINDOW * (RIGHT - LEFT);
        var y = BOTTOM - Math.min(p[1] / maximum, 1) * (BOTTOM - TOP);
        return coordinate(x) + ',' + coordinate(y);
      });
      out += '<polyline class="series s' + (index % 6) + '" data-node="' + escapeHTML(line.name) + '" points="' +
        points.join(' ') + '"/>';
    });
    return out + '</svg>';
  }

  var api = { chart: chart, axisMaximum: axisMaximum, number: number, WINDOW: WINDOW };
  if (typeof module !== 'undefined' && module.exports) module.exports = api;
  if (typeof document === 'undefined') return;

  var script = document.currentScript;
  var stateElement = document.getElementById('cluster-state');
  var initial = stateElement ? JSON.parse(stateElement.textContent) : { now: Date.now(), nodes: [] };
  // The server's clock against ours, so beats read at load and beats arriving later share one time axis.
  var skew = Date.now() - initial.now;
  var nodes = {};
  var order = [];

  function remember(id) {
    if (!nodes[id]) { nodes[id] = { id: id, document: null, beats: [], seen: 0, stopped: false }; order.push(id); }
    order.sort();
    return nodes[id];
  }

  initial.nodes.forEach(function (entry) {
    var node = remember(entry.id);
    node.document = entry.document;
    node.beats = entry.beats.map(function (b) { return [b.at + skew, b.streams, b.eps, b.p99]; });
    var age = entry.document ? Math.max(0, initial.now - entry.document.at_ms) : Infinity;
    node.seen = entry.down ? 0 : Date.now() - age;
  });

  // A node beats once a second; two and a half missed beats mean it is gone (its registry key, ttl_ms = 3 s after
  // its last beat, expires soon after). Checked four times a second, so a killed node shows as down within 2.75 s
  // of its last beat, which came at most a second before it died.
  var MISSED = 2500;

  function isDown(node) {
    if (node.stopped) return true;
    var ttl = node.document ? node.document.ttl_ms : 3000;
    return Date.now() - node.seen > Math.min(ttl, MISSED);
  }

  function stateName(node) {
    if (node.stopped) return 'stopped';
    if (isDown(node)) return 'down';
    return node.document ? node.document.state : 'unknown';
  }

  var columns = [
    ['streams', function (d) { return String(d.streams); }],
    ['events_per_second', function (d) { return number(d.events_per_second); }],
    ['delivery_p50_ms', function (d) { return d.delivery_p50_ms == null ? '–' : number(d.delivery_p50_ms); }],
    ['delivery_p99_ms', function (d) { return d.delivery_p99_ms == null ? '–' : number(d.delivery_p99_ms); }],
    ['redis_links', function (d) { return d.redis_links_up + '/' + d.redis_links_total; }],
    ['slow_consumer_cuts', function (d) { return String(d.slow_consumer_cuts); }],
    ['shed_deliveries', function (d) { return String(d.shed_deliveries); }],
    ['resyncs', function (d) { return String(d.resyncs); }]
  ];

  function row(node) {
    var body = document.querySelector('[data-nodes]');
    var tr = body.querySelector('tr[data-node="' + CSS.escape(node.id) + '"]');
    if (!tr) {
      var none = body.querySelector('tr.none');
      if (none) none.remove();
      tr = document.createElement('tr');
      tr.setAttribute('data-node', node.id);
      var html = '<th scope="row">' + escapeHTML(node.id) + '</th><td data-field="state"><span class="state"></span></td>';
      columns.forEach(function (c) { html += '<td data-field="' + c[0] + '">–</td>'; });
      tr.innerHTML = html;
      // Rows stay in node id order.
      var next = Array.prototype.find.call(body.children, function (other) {
        return other.getAttribute('data-node') > node.id;
      });
      body.insertBefore(tr, next || null);
    }
    return tr;
  }

  function setText(element, text) { if (element && element.textContent !== text) element.textContent = text; }

  function render() {
    var totals = { ready: 0, draining: 0, down: 0, streams: 0, eps: 0, cuts: 0, sheds: 0, resyncs: 0, p99: null };
    order.forEach(function (id) {
      var node = nodes[id];
      var state = stateName(node);
      var tr = row(node);
      if (tr.getAttribute('data-state') !== state) tr.setAttribute('data-state', state);
      setText(tr.querySelector('.state'), state);
      if (node.document) {
        columns.forEach(function (c) { setText(tr.querySelector('[data-field="' + c[0] + '"]'), c[1](node.document)); });
      }
      if (state === 'ready') totals.ready++;
      else if (state === 'draining') totals.draining++;
      else if (state === 'down' || state === 'stopped') totals.down++;
      if (state === 'down' || state === 'stopped' || !node.document) return;
      var d = node.document;
      totals.streams += d.streams; totals.eps += d.events_per_second; totals.cuts += d.slow_consumer_cuts;
      totals.sheds += d.shed_deliveries; totals.resyncs += d.resyncs;
      if (d.delivery_p99_ms != null) totals.p99 = Math.max(totals.p99 || 0, d.delivery_p99_ms);
    });
    var values = {
      ready: String(totals.ready), draining: String(totals.draining), down: String(totals.down),
      streams: String(totals.streams), events_per_second: number(totals.eps),
      worst_p99: totals.p99 == null ? '–' : number(totals.p99), slow_consumer_cuts: String(totals.cuts),
      shed_deliveries: String(totals.sheds), resyncs: String(totals.resyncs)
    };
    Object.keys(values).forEach(function (field) {
      setText(document.querySelector('[data-total="' + field + '"] .value'), values[field]);
    });
    var legend = document.querySelector('[data-legend]');
    var legendHTML = order.map(function (id, index) {
      return '<li class="s' + (index % 6) + '" data-node="' + escapeHTML(id) + '">' + escapeHTML(id) + '</li>';
    }).join('');
    if (legend && legend.innerHTML !== legendHTML) legend.innerHTML = legendHTML;
    var now = Date.now();
    [['streams', 'Streams', 1], ['events_per_second', 'Events/s', 2], ['delivery_p99_ms', 'Delivery p99', 3]]
      .forEach(function (spec) {
        var figure = document.querySelector('[data-chart="' + spec[0] + '"]');
        if (!figure) return;
        var series = order.map(function (id) {
          return {
            name: id,
            points: nodes[id].beats.filter(function (b) { return b[spec[2]] != null; })
              .map(function (b) { return [b[0], b[spec[2]]]; })
          };
        });
        var svg = figure.querySelector('svg');
        var markup = chart(spec[1], series, now);
        if (svg) svg.outerHTML = markup; else figure.insertAdjacentHTML('beforeend', markup);
      });
  }

  var badge = document.querySelector('[data-live]');
  function live(state, text) { if (badge) { badge.setAttribute('data-state', state); badge.textContent = text; } }

  function receive(event) {
    var document_;
    try { document_ = JSON.parse(event.data); } catch (e) { return; }
    if (!document_ || typeof document_.node_id !== 'string') return;
    var node = remember(document_.node_id);
    node.document = document_;
    node.stopped = document_.state === 'stopped';
    node.seen = Date.now();
    if (!node.stopped) {
      node.beats.push([Date.now(), document_.streams, document_.events_per_second, document_.delivery_p99_ms]);
      var start = Date.now() - WINDOW;
      while (node.beats.length && node.beats[0][0] < start) node.beats.shift();
    }
    render();
  }

  var base = script ? script.getAttribute('data-sse-url') || '' : '';
  var topic = script ? script.getAttribute('data-topic') || 'sse.nodes' : 'sse.nodes';
  if (typeof EventSource === 'function') {
    var source = new EventSource(base + '/sse?topic=' + encodeURIComponent(topic));
    source.addEventListener('open', function () { live('live', 'live'); });
    source.addEventListener('error', function () { live('reconnecting', 'reconnecting'); });
    source.addEventListener('node', receive);
  }
  render();
  // Down is a missed deadline, not an event: look four times a second.
  setInterval(render, 250);
})();
