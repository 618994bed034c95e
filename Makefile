# make demo: set up .venv and run the batch job on generated example data.
# make test: set up .venv with the test tools and run the test suite (what .ci/run calls).
# make bench-setup: add the benchmark baselines (Debian: ffmpeg, fpcalc, chromium, and the FFmpeg headers vpdq builds
#   against; PyPI: bench/requirements.txt).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test bench-setup

$(VENV)/.runtime: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --editable .  # the `medialayer` command; `import medialayer` anywhere
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

demo: $(VENV)/.runtime
	$(PY) examples/generate.py --out examples
	$(VENV)/bin/medialayer run --input examples/pairs.jsonl --output out/results --report out/report.html
	$(VENV)/bin/medialayer dedupe --input examples/catalog.jsonl --output out/dedupe --report out/dedupe-report.html

test: $(VENV)/.dev
	$(PY) -m pytest -q

bench-setup: $(VENV)/.dev
	apt-get update -qq && apt-get install -y -qq ffmpeg libchromaprint-tools chromium pkg-config \
	  libavdevice-dev libavfilter-dev libavformat-dev libavcodec-dev libswresample-dev libswscale-dev libavutil-dev
	$(PY) -m pip install --quiet -r bench/requirements.txt
