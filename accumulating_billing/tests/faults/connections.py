"""Another database connection for the fault suite: one thread with its own frappe.init/connect."""

import time
from concurrent.futures import ThreadPoolExecutor

import frappe


class Connection:
	"""Another database connection: one thread with its own frappe.init/connect, running calls in order.

	A `Kill` raised by a call is a simulated process death: the connection is dropped (the database rolls
	back whatever was not committed) and a fresh one is opened, as a restarted worker would."""

	def __init__(self, site: str, label: str):
		self.site = site
		self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=label)
		self.pool.submit(self._open).result(120)

	def _open(self):
		frappe.init(site=self.site)
		frappe.connect()
		frappe.set_user("Administrator")

	def _restart(self):
		frappe.destroy()
		self._open()

	def submit(self, fn, *args, delay: float = 0, **kwargs):
		def call():
			if delay:
				time.sleep(delay)
			try:
				return fn(*args, **kwargs)
			except Exception:
				frappe.db.rollback()
				raise
			except BaseException:
				self._restart()
				raise
			finally:
				if getattr(frappe.local, "db", None):
					frappe.db.rollback()  # the next call starts on a fresh snapshot
				frappe.clear_messages()

		return self.pool.submit(call)

	def run(self, fn, *args, **kwargs):
		return self.submit(fn, *args, **kwargs).result(300)

	def close(self):
		self.pool.submit(frappe.destroy).result(60)
		self.pool.shutdown()
