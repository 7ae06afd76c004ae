# Environment shared by serve.sh and chat.sh (sourced from the project root). The defaults of every
# GUICHET_* setting are in bot/config.py (`python -m bot endpoints` writes Rasa's endpoints from them).
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export SQLALCHEMY_SILENCE_UBER_WARNING=1
mkdir -p var
