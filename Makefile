# Two commands matter: `make run` (the product) and `make test` (the proof).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

DEMO := $(BIN)/accrue --data-dir demo-books
DAY := --as-of 2026-11-24

# The demo books, seeded afresh: master data, programs, lines, periods closed to Q3, what is
# owed right now, ship-and-debit claims (an 844 and a CSV) and what they prevented, the funds;
# then a user of every role, and the portal and the API served over them.
DEMO_PASSWORD := demo-password
DEMO_USERS := admin:admin finance:finance approver:approver auditor:auditor \
	manager:program_manager
run: $(STAMP)
	rm -rf demo-books
	$(DEMO) init
	for kind in partners products reps fx; do $(DEMO) import $$kind examples/data/$$kind.csv; done
	$(DEMO) import programs examples/programs
	$(DEMO) import lines examples/data/lines.csv $(DAY)
	for period in 2025 2026-Q1 2026-Q2 2026-H1 2026-Q3; do $(DEMO) close $$period $(DAY); done
	$(DEMO) ledger liability --by partner_id
	$(DEMO) import agreements examples/claims/agreements.csv
	$(DEMO) claims submit examples/claims/d01-claim.844.edi
	$(DEMO) claims submit examples/claims/claims.csv
	$(DEMO) claims leakage
	$(DEMO) claims funds
	$(DEMO) analyze forecast $(DAY)
	$(DEMO) analyze unclaimed $(DAY)
	$(DEMO) audit verify
	for user in $(DEMO_USERS); do \
	  ACCRUE_NEW_PASSWORD=$(DEMO_PASSWORD) $(DEMO) user add $${user%%:*} --role $${user#*:}; done
	ACCRUE_NEW_PASSWORD=$(DEMO_PASSWORD) $(DEMO) user add d01 --role partner --partner D01
	ACCRUE_NEW_PASSWORD=$(DEMO_PASSWORD) $(DEMO) user add rita --role rep --rep R1
	@echo "Logins (password $(DEMO_PASSWORD)): admin, finance, approver, auditor, manager, d01 (partner D01), rita (rep)"
	$(DEMO) serve

test: $(STAMP) lint
	$(BIN)/pytest -q -n 2

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/run.py --lines 1000000

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build src/*.egg-info demo-books
