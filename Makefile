# Two entry points for a fresh machine: `make demo` (the hook over an example with the
# shipped model) and `make test` (the test suite). Both create the virtual environments.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# pydoclint lives in its own venv: its docstring_parser_fork replaces docstring-parser's module.
PYDOCLINT := .venv-pydoclint/bin/pydoclint
# interrogate, which bench/check_speed.py compares against, also in a venv of its own.
INTERROGATE := .venv-bench/bin/interrogate

.PHONY: install demo test

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

$(PYDOCLINT):
	$(PYTHON) -m venv .venv-pydoclint
	.venv-pydoclint/bin/pip install -q 'pydoclint==0.12.0'

$(INTERROGATE):
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install -q 'interrogate==1.7.0'

demo: install
	rm -rf /tmp/docucode-demo && mkdir -p /tmp/docucode-demo && cp examples/inventory.py /tmp/docucode-demo/
	cd /tmp/docucode-demo && $(CURDIR)/$(VENV)/bin/docucode inventory.py; cat inventory.py

test: install $(PYDOCLINT) $(INTERROGATE)
	$(PY) -m pytest -q
