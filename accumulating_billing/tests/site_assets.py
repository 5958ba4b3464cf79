"""The site's /assets/ served over HTTP while a test renders PDFs.

Frappe's PDF (frappe.utils.pdf.get_pdf) gives wkhtmltopdf the print's HTML with its stylesheet links made
absolute to the site's own URL (frappe.utils.get_url), and wkhtmltopdf fails the whole PDF when nothing answers
there. A test machine runs no `bench start`, so `assets_served()` answers there for the duration of a test: the
bench's `sites/assets` folder under /assets/ and nothing else (no site's files, no configuration), on the
loopback addresses the site's host name resolves to, where nothing listens yet. The host name must resolve (a
`*.localhost` site does where the system resolves those names to loopback, as nss-myhostname does).
"""

import contextlib
import os
import socket
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import frappe


class _AssetsOnly(SimpleHTTPRequestHandler):
	"""/assets/<path> from the `directory` (sites/assets); any other path is not found. The standard handler's
	translate_path drops `..` and the like, within the folder."""

	def translate_path(self, path):
		if not urlsplit(path).path.startswith("/assets/"):
			return os.path.join(self.directory, ".no such asset")  # no such file: 404
		return super().translate_path(path[len("/assets") :])

	def log_message(self, *args):
		pass


class _Server6(ThreadingHTTPServer):
	address_family = socket.AF_INET6


def _listening(family: int, address: tuple) -> bool:
	with socket.socket(family, socket.SOCK_STREAM) as probe:
		probe.settimeout(1)
		return probe.connect_ex(address) == 0


@contextlib.contextmanager
def assets_served():
	url = urlsplit(frappe.utils.get_url())
	host, port = url.hostname, url.port or 80
	handler = partial(_AssetsOnly, directory=os.path.abspath(frappe.get_site_path("..", "assets")))
	servers = []
	try:
		with contextlib.suppress(OSError):
			for family, _type, _proto, _name, address in socket.getaddrinfo(
				host, port, type=socket.SOCK_STREAM
			):
				if family not in (socket.AF_INET, socket.AF_INET6) or _listening(family, address):
					continue
				server = (_Server6 if family == socket.AF_INET6 else ThreadingHTTPServer)(
					address[:2], handler
				)
				threading.Thread(target=server.serve_forever, daemon=True).start()
				servers.append(server)
		yield
	finally:
		for server in servers:
			server.shutdown()
			server.server_close()
