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
# The real engine the server-backend tests run against: llama.cpp's server from
# llama-cpp-python, in a venv of its own so the hook's environment never imports it. Its wheel
# is compiled from source (4 min 8 s on the 2-core machine), so it is built once into the user cache
# under a key of its version and CMake flags, and reused until either changes. GGML_NATIVE=OFF:
# a cached wheel must run on any x86-64 machine, not only on the one that built it.
LLAMA_CPP_VERSION := 0.3.36
LLAMA_CMAKE_ARGS := -DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF
WHEEL_CACHE := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/docucode/wheels
LLAMA_WHEELS := $(WHEEL_CACHE)/llama-cpp-python-$(LLAMA_CPP_VERSION)-$(shell printf '%s' '$(LLAMA_CMAKE_ARGS)' | sha256sum | cut -c1-12)
LLAMA := .venv-llama/.installed-$(LLAMA_CPP_VERSION)

.PHONY: install install-hook demo test engine

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

$(LLAMA_WHEELS)/.built:
	mkdir -p $(LLAMA_WHEELS)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip wheel -q --no-deps -w $(LLAMA_WHEELS) 'llama-cpp-python==$(LLAMA_CPP_VERSION)'
	touch $@

$(LLAMA): $(LLAMA_WHEELS)/.built | $(PY)
	rm -rf .venv-llama
	$(PYTHON) -m venv .venv-llama
	.venv-llama/bin/pip install -q "$$(ls $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl)[server]"
	touch $@

engine: $(LLAMA)

$(INTERROGATE):
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install -q 'interrogate==1.7.0'

# The demo runs in a throw-away git repository (examples/demo.sh), where the hook's advice to
# review with git diff, git add and commit again can be followed.
demo: install-hook
	sh examples/demo.sh $(CURDIR)/$(VENV)/bin/docucode $(DEMO)

test: install $(PYDOCLINT) $(INTERROGATE) engine
	$(PY) -m pytest -q
