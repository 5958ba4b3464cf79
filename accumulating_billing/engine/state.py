"""The generator's state machine: which runs are due, what each run bills, and the state after it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from accumulating_billing.engine._checks import check_date, check_int
from accumulating_billing.engine.amounts import net_total, to_decimal
from accumulating_billing.engine.errors import Term, ValidationError, _
from accumulating_billing.engine.schedule import (
	Schedule,
	first_after,
	first_on_or_after,
)

DRAFT, ACTIVE, PAUSED, COMPLETED, ARCHIVED = "Draft", "Active", "Paused", "Completed", "Archived"
STATUSES = (DRAFT, ACTIVE, PAUSED, COMPLETED, ARCHIVED)
# a live tab takes new work (items, sources, alerts, a payer's combining, an assignment); a closed one takes none
LIVE_STATUSES = (DRAFT, ACTIVE, PAUSED)
CLOSED_STATUSES = (COMPLETED, ARCHIVED)

END_NEVER, END_AFTER_N, END_ON_DATE = "Never", "After N Invoices", "On Date"
END_CONDITIONS = (END_NEVER, END_AFTER_N, END_ON_DATE)

CATCH_UP_CAP = 12

BILL, SKIP_EMPTY, SKIP_MINIMUM, SKIP_NEGATIVE = "bill", "skip_empty", "skip_minimum", "skip_negative"
REASON_BILLED, REASON_NO_ITEMS, REASON_BELOW_MINIMUM = "billed", "no_items", "below_minimum"
REASON_NEGATIVE = "negative_total"

__all__ = [
	"ACTIVE",
	"ARCHIVED",
	"BILL",
	"CATCH_UP_CAP",
	"CLOSED_STATUSES",
	"COMPLETED",
	"DRAFT",
	"END_AFTER_N",
	"END_CONDITIONS",
	"END_NEVER",
	"END_ON_DATE",
	"LIVE_STATUSES",
	"PAUSED",
	"REASON_BELOW_MINIMUM",
	"REASON_BILLED",
	"REASON_NEGATIVE",
	"REASON_NO_ITEMS",
	"SKIP_EMPTY",
	"SKIP_MINIMUM",
	"SKIP_NEGATIVE",
	"STATUSES",
	"GeneratorState",
	"RunDecision",
	"TabItem",
	"decide_run",
	"due_runs",
	"initial_next_date",
	"is_final_run",
	"items_for_run",
	"missed_during_pause",
	"net_total",
	"next_run_after",
	"resume_next_date",
	"validate_settings",
]


@dataclass(frozen=True)
class GeneratorState:
	"""The settings and counters of one generator that the decisions depend on."""

	status: str
	schedule: Schedule
	end_condition: str = END_NEVER
	end_after_invoices: int = 0
	end_date: date | None = None
	minimum_amount: Decimal = Decimal(0)
	invoices_generated: int = 0
	next_creation_date: date | None = None
	resume_date: date | None = None


def validate_settings(
	schedule: Schedule,
	end_condition: str,
	end_after_invoices: int,
	end_date: date | None,
	minimum_amount: Decimal,
) -> None:
	"""Raise ValidationError if the end condition or minimum amount settings are inconsistent."""
	if end_condition not in END_CONDITIONS:
		raise ValidationError(
			_("End condition must be one of {0}, got {1}."), ", ".join(END_CONDITIONS), repr(end_condition)
		)
	if end_condition == END_AFTER_N:
		check_int(end_after_invoices, _("The number of invoices"))
		if end_after_invoices < 1:
			raise ValidationError(
				_("'After N Invoices' needs at least 1 invoice, got {0}."), end_after_invoices
			)
	if end_condition == END_ON_DATE:
		if end_date is None:
			raise ValidationError(_("'On Date' needs an end date."))
		check_date(end_date, _("The end date"))
		if end_date < schedule.first_date:
			raise ValidationError(
				_("The end date {0} is before the first creation date {1}."),
				end_date.isoformat(),
				schedule.first_date.isoformat(),
			)
	if to_decimal(minimum_amount, _("Minimum amount")) < 0:
		raise ValidationError(_("Minimum amount must not be negative, got {0}."), minimum_amount)


def _validate_state(state: GeneratorState) -> None:
	"""Raise ValidationError if the state's settings are inconsistent."""
	validate_settings(
		state.schedule,
		state.end_condition,
		state.end_after_invoices,
		state.end_date,
		state.minimum_amount,
	)


def _end_date(state: GeneratorState) -> date:
	"""Return the end date of an 'On Date' generator (ValidationError if it is missing)."""
	if state.end_date is None:
		raise ValidationError(_("'On Date' needs an end date."))
	return check_date(state.end_date, _("The end date"))


def next_run_after(state: GeneratorState, d: date) -> date | None:
	"""Return the run date that follows run date d, or None after the final run of an 'On Date' generator."""
	check_date(d, _("The run date"))
	if state.end_condition != END_ON_DATE:
		return first_after(state.schedule, d)
	end = _end_date(state)
	if d >= end:
		return None
	return min(first_after(state.schedule, d), end)


def initial_next_date(state: GeneratorState) -> date:
	"""Return the first run date of a new generator: the first creation date (or an earlier end date)."""
	first = state.schedule.first_date
	if state.end_condition == END_ON_DATE:
		return min(first, _end_date(state))
	return first


def is_final_run(state: GeneratorState, run_date: date) -> bool:
	"""Return True if the run on run_date is the final sweep of an 'On Date' generator."""
	return state.end_condition == END_ON_DATE and run_date >= _end_date(state)


def due_runs(state: GeneratorState, as_of: date, cap: int = CATCH_UP_CAP) -> list[date]:
	"""Return the candidate run dates due as of as_of, oldest first, at most `cap`, ending at a final run."""
	check_date(as_of, _("The 'as of' date"))
	check_int(cap, _("The catch-up cap"))
	if cap < 1:
		raise ValidationError(_("The catch-up cap must be at least 1, got {0}."), cap)
	if state.status != ACTIVE or state.next_creation_date is None:
		return []
	runs: list[date] = []
	run: date | None = state.next_creation_date
	while run is not None and run <= as_of and len(runs) < cap:
		runs.append(run)
		if is_final_run(state, run):
			break
		run = next_run_after(state, run)
	return runs


@dataclass(frozen=True)
class TabItem:
	"""One unbilled line of a running tab, as far as the decisions need it."""

	name: str
	service_date: date
	amount: Decimal

	def __post_init__(self) -> None:
		"""Validate the types (money is Decimal, dates are dates)."""
		check_date(self.service_date, f"The service date of {self.name}")
		object.__setattr__(self, "amount", to_decimal(self.amount, f"The amount of {self.name}"))


def items_for_run(items: Iterable[TabItem], run_date: date, final: bool) -> list[TabItem]:
	"""Return the items a run bills: those dated before run_date, or all of them on a final run."""
	if final:
		return list(items)
	return [item for item in items if item.service_date < run_date]


@dataclass(frozen=True)
class RunDecision:
	"""What one run does and the generator's state after it."""

	action: str
	items: tuple[TabItem, ...]
	net_total: Decimal
	final: bool
	invoices_generated: int
	next_creation_date: date | None
	status: str
	reason: str


def decide_run(
	state: GeneratorState,
	run_date: date,
	unbilled_items: Iterable[TabItem],
	*,
	discount_percentage: Decimal = Decimal(0),
	discount_amount: Decimal = Decimal(0),
	apply_discount_on: str = "Grand Total",
	precision: int = 2,
	rounding: str = "half_even",
	measured_net_total: Decimal | None = None,
) -> RunDecision:
	"""Decide the run due on run_date: bill the items, or skip (no items / below the minimum amount).

	`measured_net_total`, when given, is the net total ERPNext computed for these items (needed when a
	discount on the Grand Total is spread into the net total through taxes the engine does not know)."""
	check_date(run_date, _("The run date"))
	if state.status != ACTIVE:
		raise ValidationError(_("Only an Active generator can run; this one is {0}."), Term(state.status))
	if run_date != state.next_creation_date:
		expected = state.next_creation_date.isoformat() if state.next_creation_date else "none"
		raise ValidationError(
			_("The run on {0} is not the next scheduled run (next run: {1})."), run_date.isoformat(), expected
		)
	_validate_state(state)
	final = is_final_run(state, run_date)
	items = tuple(items_for_run(unbilled_items, run_date, final))
	total = net_total(
		(item.amount for item in items),
		discount_percentage,
		discount_amount,
		apply_discount_on,
		precision,
		rounding,
	)
	if measured_net_total is not None:
		total = to_decimal(measured_net_total, _("Measured net total"))
	if not items:
		action, reason = SKIP_EMPTY, REASON_NO_ITEMS
	elif total < 0:
		# returns outweigh the rest: an invoice cannot be negative, so the tab carries over (even on a
		# final run: the credit stays visible on the Completed generator for a person to settle)
		action, reason = SKIP_NEGATIVE, REASON_NEGATIVE
	elif not final and total < state.minimum_amount:
		action, reason = SKIP_MINIMUM, REASON_BELOW_MINIMUM
	else:
		action, reason = BILL, REASON_BILLED
	generated = state.invoices_generated + (1 if action == BILL else 0)
	reached_n = state.end_condition == END_AFTER_N and generated >= state.end_after_invoices
	if final or reached_n:
		status, next_date = COMPLETED, None
	else:
		status, next_date = state.status, next_run_after(state, run_date)
	return RunDecision(
		action=action,
		items=items,
		net_total=total,
		final=final,
		invoices_generated=generated,
		next_creation_date=next_date,
		status=status,
		reason=reason,
	)


def resume_next_date(state: GeneratorState, resume_date: date) -> date | None:
	"""Return the next run date after resuming on resume_date: the first occurrence on or after it."""
	check_date(resume_date, _("The resume date"))
	following = first_on_or_after(state.schedule, resume_date)
	if state.end_condition == END_ON_DATE:
		end = _end_date(state)
		if following > end:
			following = max(end, resume_date)
	if state.next_creation_date is not None and following < state.next_creation_date:
		# Run dates before next_creation_date were already processed: never run one twice.
		following = state.next_creation_date
	return following


def missed_during_pause(state: GeneratorState, resume_date: date) -> list[date]:
	"""Return the scheduled run dates skipped by a pause: from next_creation_date up to the resumed run."""
	if state.next_creation_date is None:
		return []
	resumed = resume_next_date(state, resume_date)
	missed: list[date] = []
	run: date | None = state.next_creation_date
	while run is not None and resumed is not None and run < resumed:
		missed.append(run)
		run = next_run_after(state, run)
	return missed
