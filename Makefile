# The two commands: `make book` builds the HTML book, `make test` runs every test.
# Both create .venv and install everything on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Parallel pytest workers (unit tests and notebooks); 2 cores here and in CI.
JOBS ?= 2
# `make test` executes the notebooks on a copy of the book's sources here, and
# writes their outputs back into the copy (nbmake --overwrite); `make smoke-book`
# builds that copy without executing anything again. notebooks/ stays clean.
# (Not under _build/: nbmake never collects a notebook whose path has a _build folder.)
SMOKE := _smoke
# Where check-book looks (the full book by default; smoke-book points it at its own).
HTML ?= _build/html
SCREENSHOTS ?= _build/check-book

.PHONY: help setup test smoke-book book check-book lint format clean

help:
	@echo "make book    build the HTML book into _build/html (executes the notebooks)"
	@echo "make test    unit tests + every notebook through nbmake (GANUTILS_PROFILE=smoke)"
	@echo "make smoke-book  the book from the notebooks make test executed (no second run),"
	@echo "             warnings as errors, then check-book on it; CI runs it after make test"
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
	rm -rf $(SMOKE) && mkdir -p $(SMOKE)/src
	cp -r _config.yml _toc.yml _static book notebooks $(SMOKE)/src/
	GANUTILS_PROFILE=$${GANUTILS_PROFILE:-smoke} $(BIN)/python -m pytest -n $(JOBS) --dist loadfile \
		tests $(SMOKE)/src/notebooks --overwrite

# The book as make test executed it: a broken glue key, reference or citation,
# or a cell that fails, fails the build; then a real browser reads every page.
smoke-book: $(STAMP)
	@test -d $(SMOKE)/src/notebooks || { echo "run make test first: it executes the notebooks"; exit 2; }
	@$(BIN)/python -c "import glob, json, sys; \
		bare = [p for p in sorted(glob.glob('$(SMOKE)/src/notebooks/*.ipynb')) \
			if not any(c.get('outputs') for c in json.load(open(p))['cells'])]; \
		sys.exit(f'make test did not execute {bare}' if bare else 0)"
	sed -i 's/^  execute_notebooks: .*/  execute_notebooks: "off"/' $(SMOKE)/src/_config.yml
	$(BIN)/jupyter-book build $(SMOKE)/src --path-output $(SMOKE) --warningiserror --nitpick --keep-going
	$(MAKE) check-book HTML=$(SMOKE)/_build/html SCREENSHOTS=$(SMOKE)/check-book

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
	$(BIN)/python tools/check_book.py --html $(HTML) --screenshots $(SCREENSHOTS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf _build $(SMOKE)
