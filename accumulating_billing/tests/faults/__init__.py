"""Shared plumbing of the fault suite (issue 7): nothing is lost or billed twice under interleavings, crashes,
downtime and bad input.

The suite is split by fault family, each module bounded and reproducible (a seeded random.Random chooses every
operation and its arguments; the database decides only how concurrent transactions interleave, and the
invariants must hold whatever it decides). Each part prints its figures. All run in `bench run-tests` and
therefore in `.ci/run`.

- test_fault_interleavings: randomized interleavings of add / generate / generate-now / cancel on two worker
  connections at once, with the invariants checked after every round.
- test_fault_crashes: crash injection at every step of the generation transaction and of the after-commit
  email step, as a raised error and as a process death.
- test_fault_downtime: scheduler downtime of 1, 3 and 14 occurrences equals the run without downtime.
- test_fault_bad_inputs: a catalogue of bad inputs (API, forms, web form, CLI), each refused clearly.

This package holds what they share, one module per concern, and has no tests of its own:

- connections: the extra database connections (`Connection`), one thread each;
- operations: the random operations (`op_*`, `OPERATIONS`);
- invariants: the bookkeeping invariants (`check_invariants`: every item billed exactly once, unbilled, or on
  hold) and the lines that bill each item (`billings`, also used by benchmarks/concurrent_adders.py);
- crashes: crash injection (`Crash`, `Kill`, `Injector`, `after`, `before`, `at_commit`) with the email-queue
  capture (`capture_enqueue`, `run_email_jobs`);
- outcomes: a generator's outcome without names (`outcome_of`), row counts (`row_counts`);
- calls: calling as another user or through the bench command (`as_user`, `cli_command`).
"""

from accumulating_billing.doctypes import GENERATOR, ITEM, LOG

EMAIL_JOB = "accumulating_billing.billing.email.send_invoice_email"
SEED = 20260701
