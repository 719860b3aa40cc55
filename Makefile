# `make demo` and `make test` work on a fresh machine with only Python.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
export PIP_CONSTRAINT := $(CURDIR)/constraints.txt

.PHONY: demo test bench install clean docs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first, pinned, so nothing later pulls a CUDA build; on a GPU machine choose the
# build with TORCH_INDEX, e.g. `make install TORCH_INDEX=https://download.pytorch.org/whl/cu126`
TORCH_INDEX ?=
$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) install --quiet torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PIP) install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# the documentation site, from docs/ and mkdocs.yml, into site/ (open site/index.html: no server
# and no network needed); torch first and pinned, as for install, then genlab with its docs extra
$(VENV)/.docs-installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) install --quiet torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PIP) install --quiet -e '.[docs]'
	touch $@

docs: $(VENV)/.docs-installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

demo: install
	$(BIN)/genlab demo

# the browser test of `genlab report` drives Debian's chromium: installed here when missing if
# we may (root, apt-get); otherwise that test skips and says why
test: install
	@if ! command -v chromium >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -q && apt-get install -y -q chromium || echo "make: could not install chromium: the browser test will skip"; fi
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/trainer_overhead.py
	$(BIN)/python benchmarks/gmm_fit.py
	$(BIN)/python benchmarks/modes.py
	$(BIN)/python benchmarks/image_metrics.py
	$(BIN)/python benchmarks/image_gans.py
	$(BIN)/python benchmarks/gan_diagnosis.py
	$(BIN)/python benchmarks/pixel_sampling.py
	$(BIN)/python benchmarks/likelihood.py
	$(BIN)/python benchmarks/autoencoders.py --grid runs/autoencoders.png
	$(BIN)/python benchmarks/ddim_speed.py --guidance 0 1 3
	$(BIN)/python benchmarks/domains.py
	$(BIN)/python benchmarks/stylegan.py
	$(BIN)/python benchmarks/playground.py
	$(PIP) install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/ngram_nltk.py

clean:
	rm -rf $(VENV) runs .pytest_cache
