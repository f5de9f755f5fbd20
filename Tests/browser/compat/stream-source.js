/*
 * <compat-stream-source src="…">: the mechanism of a Turbo stream source, written for this page. While the
 * element is connected it holds an EventSource without credentials; every message event's data is HTML holding
 * <turbo-stream action="…" target="…"><template>…</template></turbo-stream> elements, applied in order:
 * update (replace the target's content), replace, append, prepend, remove. The browser reconnects by itself with
 * Last-Event-ID. Unlike Turbo, the element also closes its source on the gateway's `end` event (Turbo has no
 * notion of it and reconnects after any end).
 */
(function () {
  'use strict';

  function apply(stream, id) {
    var action = stream.getAttribute('action');
    var target = document.getElementById(stream.getAttribute('target') || '');
    var template = stream.querySelector('template');
    if (!target || (!template && action !== 'remove')) {
      compat.unexpected('turbo-stream without target or template: ' + stream.outerHTML);
      return;
    }
    if (action === 'update') target.replaceChildren(template.content.cloneNode(true));
    else if (action === 'append') target.append(template.content.cloneNode(true));
    else if (action === 'prepend') target.prepend(template.content.cloneNode(true));
    else if (action === 'replace') target.replaceWith(template.content.cloneNode(true));
    else if (action === 'remove') target.remove();
    else {
      compat.unexpected('action ' + action + ' not handled by this page');
      return;
    }
    if (action !== 'remove' && action !== 'replace') compat.applied(target, id);
  }

  class StreamSource extends HTMLElement {
    connectedCallback() {
      var source = new EventSource(this.getAttribute('src'));
      this.source = source;
      source.onopen = function () { compat.opened(); };
      source.onerror = function () { compat.error('error event, readyState ' + source.readyState); };
      source.addEventListener('message', function (event) {
        var holder = document.createElement('template');
        holder.innerHTML = event.data;
        var streams = holder.content.querySelectorAll('turbo-stream');
        if (streams.length === 0) compat.unexpected('message without turbo-stream: ' + event.data);
        streams.forEach(function (stream) { apply(stream, event.lastEventId); });
      });
      source.addEventListener('resync', function (event) { compat.resync(event.data); });
      source.addEventListener('end', function (event) {
        source.close();
        compat.ended(event.data);
      });
    }

    disconnectedCallback() {
      if (this.source) this.source.close();
    }
  }

  customElements.define('compat-stream-source', StreamSource);
})();
