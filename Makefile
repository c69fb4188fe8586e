# Two commands matter: `make run` (the product) and `make test` (the proof).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench clean lock

# Installs exactly the versions in requirements.lock (what CI tests), then Accrue itself.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Resolve pyproject.toml's ranges again (newest versions); commit once `make test` passes.
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra spark --python-version 3.11 \
	  --upgrade --annotation-style line --custom-compile-command "make lock" -o requirements.lock

DEMO := $(BIN)/accrue --data-dir demo-books
DAY := --as-of 2026-11-24

# The demo: a manufacturer with three product lines (and a new Smart line), 150 distributors
# in parent/branch trees across regions, two years of seasonal sales with returns, every kind
# of program, periods closed to Q3, ship-and-debit agreements and claims (an 844 and a CSV),
# market development funds, users of every role — seeded once into demo-books/ (delete it, or
# `make clean`, to seed again); every `make run` then serves the portal and the API over it.
DEMO_PASSWORD := demo-rebates-2026
DEMO_USERS := admin:admin finance:finance approver:approver approver2:approver \
	auditor:auditor manager:program_manager
SEEDED := demo-books/.seeded
# the demo pays rebates from a well-known example IBAN (no real account); real
# books set their own, and no bank file is written until they do
DEMO_PAYER := ACCRUE_PAYER_NAME="Demo Manufacturer" ACCRUE_PAYER_IBAN=DE89370400440532013000

run: $(STAMP) $(SEEDED)
	@echo "Logins (password $(DEMO_PASSWORD)): admin, finance, approver, approver2, auditor, manager,"
	@echo "  d01 (partner Distributor 01 and its branches), rita (sales rep of D01, D05, ...)"
	$(DEMO_PAYER) $(DEMO) serve

$(SEEDED): $(STAMP)
	rm -rf demo-books demo-data
	$(BIN)/python examples/make_data.py --distributors 150 --busy 5 --out demo-data
	$(DEMO) init
	for kind in partners products reps fx; do $(DEMO) import $$kind demo-data/$$kind.csv; done
	$(DEMO) import programs examples/programs
	$(DEMO) import lines demo-data/lines.csv $(DAY)
	for period in 2025 2026-Q1 2026-Q2 2026-H1 2026-Q3; do $(DEMO) close $$period $(DAY); done
	$(DEMO) import agreements examples/claims/agreements.csv
	$(DEMO) claims submit examples/claims/d01-claim.844.edi
	$(DEMO) claims submit examples/claims/claims.csv
	$(DEMO) claims leakage
	$(DEMO) analyze forecast $(DAY)
	$(DEMO) audit verify
	for user in $(DEMO_USERS); do \
	  ACCRUE_NEW_PASSWORD=$(DEMO_PASSWORD) $(DEMO) user add $${user%%:*} --role $${user#*:}; done
	ACCRUE_NEW_PASSWORD=$(DEMO_PASSWORD) $(DEMO) user add d01 --role partner --partner D01
	ACCRUE_NEW_PASSWORD=$(DEMO_PASSWORD) $(DEMO) user add rita --role rep --rep R1
	touch $(SEEDED)

test: $(STAMP) lint
	$(BIN)/pytest -q -n 2

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	bench/all.sh 1000000

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build src/*.egg-info demo-books demo-data
