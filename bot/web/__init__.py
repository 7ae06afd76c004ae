"""Guichet's web front: the counsellor console (/conseiller), the kiosk (/borne) and the after-hours
web chat (/chat), served by the Rasa server itself through two input channels (bot.web.channel)."""
