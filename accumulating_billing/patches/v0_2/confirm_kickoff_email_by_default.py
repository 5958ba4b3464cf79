from accumulating_billing.install import set_settings_defaults


def execute():
	"""Issue 25: the kickoff form confirms the email before creating records, also on sites installed before."""
	set_settings_defaults()
