# Two entry points for a fresh machine: `make demo` (the hook over an example with the
# shipped model) and `make test` (the test suite). Both create the virtual environment:
# demo installs the hook alone (its core dependencies), test adds the extras on top.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# pydoclint lives in its own venv: its docstring_parser_fork replaces docstring-parser's module.
PYDOCLINT := .venv-pydoclint/bin/pydoclint
# interrogate, which bench/check_speed.py compares against, also in a venv of its own.
INTERROGATE := .venv-bench/bin/interrogate
DEMO := /tmp/docucode-demo

.PHONY: install install-hook demo test

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

install-hook: $(VENV)/.installed-hook
install: $(VENV)/.installed-test

$(VENV)/.installed-hook: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed-hook

$(PYDOCLINT):
	$(PYTHON) -m venv .venv-pydoclint
	.venv-pydoclint/bin/pip install -q 'pydoclint==0.12.0'

$(INTERROGATE):
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install -q 'interrogate==1.7.0'

# The demo runs in a throw-away git repository (examples/demo.sh), where the hook's advice to
# review with git diff, git add and commit again can be followed.
demo: install-hook
	sh examples/demo.sh $(CURDIR)/$(VENV)/bin/docucode $(DEMO)

test: install $(PYDOCLINT) $(INTERROGATE)
	$(PY) -m pytest -q
