# The two commands: `make book` builds the HTML book, `make test` runs every test.
# Both create .venv and install everything on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Parallel pytest workers (unit tests and notebooks); 2 cores here and in CI.
JOBS ?= 2

.PHONY: help setup test book check-book lint format clean

help:
	@echo "make book    build the HTML book into _build/html (executes the notebooks)"
	@echo "make test    unit tests + every notebook through nbmake (GANUTILS_PROFILE=smoke)"
	@echo "make check-book  every page of _build/html in headless Chromium; does not build: make book first"
	@echo "             (JS errors, broken images, TF logs in outputs, GIF loops; PNGs in _build/check-book)"
	@echo "make lint    ruff check and format check, notebooks included"
	@echo "make clean   remove the build output"

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --editable .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 > /dev/null
	touch $@

# Tests run the smoke profile unless GANUTILS_PROFILE says otherwise.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	GANUTILS_PROFILE=$${GANUTILS_PROFILE:-smoke} $(BIN)/python -m pytest -n $(JOBS) --dist loadfile

# Warnings are errors; notebooks execute (cached in _build/.jupyter_cache) in
# the profile the machine suggests (cpu without a GPU) unless GANUTILS_PROFILE is set.
book: $(STAMP)
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo "The book is at _build/html/index.html"

# A real browser on the book that `make book` built (this target does not build
# it): fails on JavaScript errors, broken images, TensorFlow/absl log lines in
# cell outputs and GIFs that do not loop; screenshots go to _build/check-book/.
check-book: $(STAMP)
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		apt-get update -qq && apt-get install -y -qq chromium chromium-driver; \
	fi
	$(BIN)/python tools/check_book.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf _build
