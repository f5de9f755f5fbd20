"""A tiny page server for the browser scripts that need an origin of their own (private_cookies.py,
private_expiry.py): http.server in a daemon thread of the script, on 127.0.0.1 only, answering from a table of
routes. It lives as long as the script, which stops it (shutdown) before it ends; it starts no process."""

import http.server
import threading


def serve(port, routes):
    """Serves `routes` ({(method, path): answer}) on 127.0.0.1:port (0: a free port) and returns the server (its
    port is server.server_address[1]). An answer is a function of the request's query string returning
    (status, body bytes, [(header, value)…]). The path is matched without its query; anything else is a 404."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self._route("GET")

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self._route("POST")

        def _route(self, method):
            path, _, query = self.path.partition("?")
            answer = routes.get((method, path))
            status, body, headers = answer(query) if answer else (404, b"not found\n", [("Content-Type", "text/plain")])
            self.send_response(status)
            for name, value in headers + [("Content-Length", str(len(body))), ("Cache-Control", "no-store")]:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_):  # request lines say nothing the checks do not, and cookie answers hold tokens
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def html(body):
    """A route answer: an HTML page."""
    return lambda _query: (200, body, [("Content-Type", "text/html; charset=utf-8")])


def cookie_setter(token):
    """A route answer that sets the visitor's sse_token cookie to token() (HttpOnly, SameSite=Strict, for the host:
    cookies ignore ports, so the gateway's port on the same host gets it too)."""
    def answer(_query):
        cookie = f"sse_token={token()}; Path=/; HttpOnly; SameSite=Strict"
        return 200, b"signed in\n", [("Content-Type", "text/plain"), ("Set-Cookie", cookie)]
    return answer
