#!/usr/bin/env bash
# Trains the Rasa model unless one was already trained from the same config, domain and data.
set -euo pipefail
cd "$(dirname "$0")/.."
hash=$(cat config.yml domain/*.yml $(find data -name '*.yml' | sort) | sha256sum | cut -c1-12)
model="models/guichet-$hash.tar.gz"
if [ -f "$model" ]; then
    echo "Modèle à jour : $model"
else
    echo "Entraînement du modèle (quelques minutes)…"
    .venv/bin/rasa train --domain domain --data data --config config.yml --out models \
        --fixed-model-name "guichet-$hash"
    find models -name 'guichet-*.tar.gz' ! -name "guichet-$hash.tar.gz" -delete
fi
cp "$model" models/guichet.tar.gz
