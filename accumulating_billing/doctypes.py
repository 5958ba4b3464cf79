"""The app's DocType names, one home for each: every module that names a DocType of the app imports its name from
here (docs/architecture.md §1). Nothing is imported here, so any module, at any layer but the engine (which knows
no DocType), may import it."""

GENERATOR = "Accumulating Generator"
ITEM = "Accumulating Generator Item"
LOG = "Accumulating Generation Log"
SETTINGS = "Accumulating Billing Settings"
TEMPLATE = "Accumulating Generator Template"
RULE = "Accumulating Assignment Rule"
AUTOMATION = "Accumulating Automation"
RUN = "Accumulating Automation Run"
INVOICE_TAB = "Accumulating Invoice Tab"
REQUEST = "Accumulating Kickoff Request"

# the Role the app installs (install.py), which contributors hold
CONTRIBUTOR_ROLE = "Accumulating Billing Contributor"
