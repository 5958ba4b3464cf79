"""Frappe's request path for the benchmarks: a gunicorn with ONE worker serving the site (`--http-port`, default
8060; or a server already running there, `--http-url`), and a caller of its API as a user with API keys (the
`Authorization: token key:secret` header, as an integration calls it)."""

import os
import signal
import subprocess
import time
from contextlib import contextmanager

import frappe

from benchmarks.common import say


@contextmanager
def one_worker_server(args):
	"""The URL of a server of the site: `--http-url` when given, else a gunicorn with one worker started here on
	`--http-port` (and stopped when the block ends)."""
	if args.http_url:
		yield args.http_url.rstrip("/")
		return
	sites_path = os.path.abspath(frappe.local.sites_path)
	bench = os.path.dirname(sites_path)
	log = open(os.path.join(bench, "logs", f"abbench-gunicorn-{args.http_port}.log"), "ab")
	proc = subprocess.Popen(
		[
			os.path.join(bench, "env", "bin", "gunicorn"),
			"-b",
			f"127.0.0.1:{args.http_port}",
			"-w",
			"1",
			"-t",
			"600",
			"--preload",
			"frappe.app:application",
		],
		cwd=sites_path,
		stdout=log,
		stderr=subprocess.STDOUT,
		start_new_session=True,
	)
	url = f"http://127.0.0.1:{args.http_port}"
	try:
		wait_until_up(url, frappe.local.site)
		say(f"  gunicorn (1 worker) on {url}, pid {proc.pid}")
		yield url
	finally:
		os.killpg(proc.pid, signal.SIGTERM)
		try:
			proc.wait(30)
		except subprocess.TimeoutExpired:
			os.killpg(proc.pid, signal.SIGKILL)
			proc.wait(10)


def wait_until_up(url: str, site: str, timeout: float = 120) -> None:
	import requests

	deadline = time.monotonic() + timeout
	while time.monotonic() < deadline:
		try:
			if requests.get(f"{url}/api/method/ping", headers={"Host": site}, timeout=5).ok:
				return
		except requests.RequestException:
			pass
		time.sleep(0.5)
	raise RuntimeError(f"no server answered on {url}")


class Caller:
	"""Calls of the site's API over HTTP, as one user (API key and secret, made here)."""

	def __init__(self, url: str, user: str):
		import requests

		self.url, self.site = url, frappe.local.site
		self.session = requests.Session()
		self.session.headers.update({"Host": self.site, "Authorization": f"token {api_token(user)}"})

	def post(self, method: str, payload: dict):
		response = self.session.post(f"{self.url}/api/method/{method}", json=payload, timeout=600)
		if not response.ok:
			raise RuntimeError(f"{method}: {response.status_code} {response.text[:300]}")
		return response.json().get("message")

	def get(self, path: str, **params):
		response = self.session.get(f"{self.url}{path}", params=params, timeout=600)
		if not response.ok:
			raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
		return response


def api_token(user: str) -> str:
	"""`key:secret` of the user (made once; committed)."""
	doc = frappe.get_doc("User", user)
	secret = frappe.generate_hash(length=15)
	doc.api_key = doc.api_key or frappe.generate_hash(length=15)
	doc.api_secret = secret
	doc.save(ignore_permissions=True)
	frappe.db.commit()
	return f"{doc.api_key}:{secret}"


def bench_user(roles: list[str], tag: str, user_type: str = "System User") -> str:
	from accumulating_billing.tests.utils import make_user

	user = make_user(roles, email=f"abbench-{tag.lower()}-{frappe.generate_hash(length=4)}@example.com")
	if user_type != "System User":
		frappe.db.set_value("User", user, "user_type", user_type)
	frappe.db.commit()
	return user
