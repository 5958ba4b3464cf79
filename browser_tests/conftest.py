"""Real-browser tests: Playwright for Python driving Debian's Chromium against a bench site.

Environment:
	AB_BROWSER_SITE   the site (required; a site with ERPNext, this app and a completed setup wizard)
	BENCH_DIR         the bench (default /opt/frappe-bench)
	AB_ADMIN_PASSWORD the site's Administrator password (default "admin")
	AB_CHROMIUM       the browser (default /usr/bin/chromium; never downloaded)
	AB_SCREENSHOTS    where the screenshots go (default /tmp/ab-screenshots)
	AB_BROWSER_URL    an already running server for the site (default: this session starts
	                  `bench --site SITE serve` on a free port and stops it at the end)

The data comes from `bench --site SITE execute accumulating_billing.tests.browser_setup.prepare`.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

BENCH_DIR = Path(os.environ.get("BENCH_DIR", "/opt/frappe-bench"))
SITE = os.environ.get("AB_BROWSER_SITE", "")
ADMIN_PASSWORD = os.environ.get("AB_ADMIN_PASSWORD", "admin")
CHROMIUM = os.environ.get("AB_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("AB_SCREENSHOTS", "/tmp/ab-screenshots"))
LAUNCH_ARGS = [
	"--no-sandbox",
	"--disable-gpu",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
]
TIMEOUT_MS = 30_000


def pytest_collection_modifyitems(config, items):
	reason = None
	if not SITE:
		reason = "AB_BROWSER_SITE is not set"
	elif not Path(CHROMIUM).exists():
		reason = f"no chromium at {CHROMIUM}"
	else:
		try:
			import playwright.sync_api
		except ImportError:
			reason = "no playwright in this Python"
	if reason:
		for item in items:
			item.add_marker(pytest.mark.skip(reason=reason))


def bench(*args: str, timeout: int = 300) -> str:
	bench_bin = shutil.which("bench") or "bench"
	result = subprocess.run(
		[bench_bin, *args], cwd=BENCH_DIR, capture_output=True, text=True, timeout=timeout
	)
	if result.returncode != 0:
		raise RuntimeError(f"bench {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
	return result.stdout


def bench_execute(method: str, *args) -> object:
	"""`bench --site SITE execute method --args [...]`; returns its (JSON) result."""
	cmd = ["--site", SITE, "execute", method]
	if args:
		cmd += ["--args", json.dumps(list(args))]
	out = bench(*cmd).strip().splitlines()
	return json.loads(out[-1]) if out else None


def free_port() -> int:
	with socket.socket() as s:
		s.bind(("127.0.0.1", 0))
		return s.getsockname()[1]


def wait_for_ping(url: str, server: subprocess.Popen | None, log: Path, seconds: int = 90) -> None:
	deadline = time.monotonic() + seconds
	while time.monotonic() < deadline:
		if server is not None and server.poll() is not None:
			raise RuntimeError(f"bench serve exited:\n{log.read_text(errors='replace')[-3000:]}")
		try:
			with urllib.request.urlopen(f"{url}/api/method/ping", timeout=5) as response:
				if b"pong" in response.read():
					return
		except OSError:
			pass
		time.sleep(0.5)
	raise RuntimeError(f"{url} did not answer /api/method/ping in {seconds} s")


@pytest.fixture(scope="session")
def base_url(tmp_path_factory):
	if os.environ.get("AB_BROWSER_URL"):
		url = os.environ["AB_BROWSER_URL"].rstrip("/")
		wait_for_ping(url, None, Path("/dev/null"))
		yield url
		return
	port = int(os.environ.get("AB_BROWSER_PORT") or free_port())
	log = tmp_path_factory.mktemp("serve") / "serve.log"
	with open(log, "w") as out:
		server = subprocess.Popen(
			[shutil.which("bench") or "bench", "--site", SITE, "serve", "--port", str(port), "--noreload"],
			cwd=BENCH_DIR,
			stdout=out,
			stderr=subprocess.STDOUT,
			start_new_session=True,  # its own process group: stopped with everything it started
		)
	url = f"http://127.0.0.1:{port}"
	try:
		wait_for_ping(url, server, log)
		yield url
	finally:
		try:
			os.killpg(server.pid, signal.SIGTERM)
			server.wait(timeout=15)
		except (ProcessLookupError, subprocess.TimeoutExpired):
			try:
				os.killpg(server.pid, signal.SIGKILL)
			except ProcessLookupError:
				pass


@pytest.fixture(scope="session")
def data(base_url):
	return bench_execute("accumulating_billing.tests.browser_setup.prepare")


@pytest.fixture(scope="session")
def browser():
	from playwright.sync_api import sync_playwright

	with sync_playwright() as p:
		browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
		yield browser
		browser.close()


def new_context(browser, base_url):
	context = browser.new_context(base_url=base_url, viewport={"width": 1400, "height": 900}, locale="en-US")
	context.set_default_timeout(TIMEOUT_MS)
	return context


@pytest.fixture(scope="session")
def admin_context(browser, base_url, data):
	"""One logged-in Administrator session for the desk tests (and REST checks)."""
	context = new_context(browser, base_url)
	response = context.request.post("/api/method/login", form={"usr": "Administrator", "pwd": ADMIN_PASSWORD})
	assert response.ok, response.text()
	yield context
	context.close()


@pytest.fixture
def guest_context(browser, base_url, data):
	context = new_context(browser, base_url)
	yield context
	context.close()


def watched_page(request, context):
	"""A new page; uncaught JavaScript errors fail the test, a failing test leaves `<test>-failed.png`."""
	page = context.new_page()
	errors = []
	page.on("pageerror", lambda error: errors.append(str(error)))
	page.ab_js_errors = errors  # a test that leaves for a third-party page may drop what that page raises
	yield page
	report = getattr(request.node, "rep_call", None)
	if report is not None and report.failed:
		shot(page, f"{request.node.name}-failed")
	page.close()
	assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def login_as(request, browser, base_url):
	"""login_as(user, password): a page of a fresh session of that user; after the test its own checks (JavaScript
	errors) run and it is closed."""
	opened = []

	def login(user: str, password: str):
		context = new_context(browser, base_url)
		response = context.request.post("/api/method/login", form={"usr": user, "pwd": password})
		assert response.ok, response.text()
		pages = watched_page(request, context)
		opened.append((context, pages))
		return next(pages)

	yield login
	for context, pages in reversed(opened):
		next(pages, None)
		context.close()


@pytest.fixture
def page(request, admin_context):
	"""A desk page of the logged-in Administrator."""
	yield from watched_page(request, admin_context)


@pytest.fixture
def guest_page(request, guest_context):
	"""A page with its own cookie jar, not logged in."""
	yield from watched_page(request, guest_context)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
	outcome = yield
	report = outcome.get_result()
	setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session", autouse=True)
def fresh_screenshots():
	"""Screenshots of an earlier run of these tests go; other files in the directory stay."""
	SCREENSHOTS.mkdir(parents=True, exist_ok=True)
	for old in SCREENSHOTS.glob("test_*.png"):
		old.unlink()


def shot(page, name: str) -> Path:
	"""A full-page screenshot in AB_SCREENSHOTS, named after the test."""
	SCREENSHOTS.mkdir(parents=True, exist_ok=True)
	path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
	page.screenshot(path=str(path), full_page=True)
	return path


@pytest.fixture
def screenshot(request):
	"""screenshot(page) saves `<test name>.png`; screenshot(page, "step") saves `<test name>-step.png`."""

	def save(page, step: str | None = None) -> Path:
		return shot(page, f"{request.node.name}-{step}" if step else request.node.name)

	return save
