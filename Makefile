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
SEEDED := demo-books/.seeded
# the demo pays rebates from a well-known example IBAN (no real account); real
# books set their own, and no bank file is written until they do
DEMO_PAYER := ACCRUE_PAYER_NAME="Demo Manufacturer" ACCRUE_PAYER_IBAN=DE89370400440532013000
# each step of the seeding as the demo user whose job it is, so the audit trail and the
# approval pages name believable people, never the account that ran `make`
AS = ACCRUE_ACTOR=$(1) $(DEMO)
ADD_USER := ACCRUE_NEW_PASSWORD=$(DEMO_PASSWORD) $(call AS,admin) user add

run: $(STAMP) $(SEEDED)
	@echo "Logins (password $(DEMO_PASSWORD)): admin, finance, approver, approver2, auditor, manager,"
	@echo "  d01 (partner Distributor 01 and its branches), rita (sales rep of D01, D05, ...)"
	$(DEMO_PAYER) $(DEMO) serve

$(SEEDED): $(STAMP)
	rm -rf demo-books demo-data
	$(BIN)/python examples/make_data.py --distributors 150 --busy 5 --out demo-data
	$(DEMO) init
	for kind in partners products reps fx; do $(call AS,admin) import $$kind demo-data/$$kind.csv; done
	$(ADD_USER) admin --role admin --name "Alex Morgan"
	$(ADD_USER) finance --role finance --name "Fiona Hart"
	$(ADD_USER) approver --role approver --name "Omar Reyes"
	$(ADD_USER) approver2 --role approver --name "Grace Liu"
	$(ADD_USER) auditor --role auditor --name "Daniel Okafor"
	$(ADD_USER) manager --role program_manager --name "Priya Shah"
	$(ADD_USER) d01 --role partner --partner D01 --name "Dana Whitfield"
	$(ADD_USER) rita --role rep --rep R1 --name "Rita Alvarez"
	$(call AS,manager) import programs examples/programs
	$(call AS,finance) import lines demo-data/lines.csv $(DAY)
	for period in 2025 2026-Q1 2026-Q2 2026-H1 2026-Q3; do $(call AS,finance) close $$period $(DAY); done
	$(call AS,manager) import agreements examples/claims/agreements.csv
	$(call AS,d01) claims submit examples/claims/d01-claim.844.edi
	$(call AS,finance) claims submit examples/claims/claims.csv
	$(DEMO) claims leakage
	$(DEMO) analyze forecast $(DAY)
	$(BIN)/python examples/demo_people.py demo-books
	$(DEMO) audit verify
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
