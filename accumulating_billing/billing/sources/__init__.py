"""Work that ERPNext already records flows into the running tab: billable Timesheet logs and Delivery Note
lines become tab items when their document is submitted, and the generated invoice carries ERPNext's own links
back (timesheet rows, `delivery_note` / `dn_detail`, see invoice.py), so ERPNext's billing status and reports
agree with the tab.

One module per concern:
- `base`: the DocTypes, `SourceLine`, the query for documents with lines no tab holds;
- `timesheets`, `delivery_notes`: the billable lines of each source;
- `routing`: which generator receives a line;
- `tab_items`: a line's values on a tab, and their insert, update and removal;
- `sync`: a document's lines brought onto the tab (submit, edit, a generator's Sync, the CLI's `sync`);
- `events`: the submit and cancel of a Timesheet or Delivery Note;
- `hand_billed`: Sales Invoices made by hand that bill source lines.

Rules:
- Each source line is on a tab at most once: a unique key on (source_doctype, source_detail). Submitting,
  amending, updating after submit or syncing a document again never duplicates its lines.
- The receiving generator of a line: the customer's live generator of the line's project, else the customer's
  one live generator with the setting on. Several, or none, and nothing is added: the document gets a comment.
- The submit of a Timesheet or Delivery Note never fails because of this app (the lines it could not add are
  commented, and Sync adds them later); its cancel does, while one of its lines is billed on a live invoice.
"""

from accumulating_billing.billing.sources.events import on_cancel, on_submit
from accumulating_billing.billing.sources.sync import sync_all, sync_document, sync_generator
from accumulating_billing.billing.sources.tab_items import check_settings_change, insert_items

__all__ = [
	"check_settings_change",
	"insert_items",
	"on_cancel",
	"on_submit",
	"sync_all",
	"sync_document",
	"sync_generator",
]
