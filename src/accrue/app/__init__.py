"""The application layer: one function per use case, each owning its transaction(s) and its
side effects — the recalculation a change implies, the alerts it raises (queued in the outbox in
the same transaction), the audit entries. The CLI, the API, the portal and the job worker only
parse their input, call one of these and render what it returns, so a use case behaves the same
whichever door it was started from.

- `books`: lines, programs and master data in; recalculation and alerts; close; pay, reverse.
- `money`: settlements submitted for approval, requests decided, payout batches and payment.
- `claims`: agreements, ship-and-debit and fund claims, disputes opened and resolved.
- `jobs`: long use cases run in the background with progress (see `accrue.store.jobs`).

Loading this package loads every module that registers something approvable (claims,
disputes, payout batches, settlements), so any decision finds what it settles.
"""

# imported by their full names, so that none shadows this package's own modules
import accrue.store.claims
import accrue.store.close
import accrue.store.disputes
import accrue.store.payouts  # noqa: F401  (they register what they approve)
