# Guichet — the two commands of the README are `make run` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
export PYTHONDONTWRITEBYTECODE := 1
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export RASA_TELEMETRY_ENABLED := false

.PHONY: setup system-deps check data kb train run chat test test-rasa bench bench-multi clean

setup:
	@bash scripts/setup.sh

# Debian packages of the test suite: Chromium (browser tests), PostgreSQL 15 and Redis 7 (scale-out).
system-deps:
	@bash scripts/system-deps.sh

check: setup
	$(PY) -m bot kb check

# Regenerate the Rasa files derived from knowledge/ (intents, rules, operator lookup).
data: setup
	$(PY) -m bot rasa generate

kb: setup
	$(PY) -m bot kb build

train: kb
	@bash scripts/train.sh

# Main job: knowledge base, model, then the action server and the Rasa server (REST + socket.io).
run: train
	@bash scripts/serve.sh

# A conversation in the terminal (rasa shell), with the action server in the background.
chat: train
	@bash scripts/chat.sh

# Ends with a check that nothing was written into the checkout (`git status --porcelain` as before).
test: setup system-deps
	$(PY) tests/gitclean.py snapshot var/git-baseline.json
	$(PY) -m bot kb check
	$(PY) -m bot rasa generate --check
	$(RASA) data validate --domain domain --data data --config config.yml --fail-on-warnings
	@bash scripts/train.sh
	$(MAKE) --no-print-directory test-rasa
	GUICHET_GIT_BASELINE=var/git-baseline.json $(PY) -m pytest -q -p no:cacheprovider tests

# Conversation tests: NLU intent and next action of every turn of tests/test_stories.yml.
test-rasa:
	$(RASA) test core --stories tests/test_stories.yml --model models/guichet.tar.gz \
		--fail-on-prediction-errors --out var/rasa-test-results

bench: train
	$(PY) bench/nlu.py

# Several requests in one message, scored per request (the set: bench/challenge/multi.yml).
bench-multi: kb
	$(PY) bench/multi.py bench/challenge/multi.yml --singles tests/nlu_heldout.yml --out var/multi.json

# var/.gitkeep is versioned (Rasa's SQLite tracker store, var/tracker.db, needs the folder).

clean:
	if [ -d var ]; then find var -mindepth 1 ! -name .gitkeep -exec rm -rf {} +; fi
	rm -rf .pytest_cache models
