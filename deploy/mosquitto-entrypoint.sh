#!/bin/sh
# Writes Mosquitto's password file from secrets, then runs Mosquitto in the foreground.
# Each user's password comes from MQTT_<USER>_PASSWORD_FILE (a Docker secret) or, for the dev
# compose file only, MQTT_<USER>_PASSWORD. Passwords never appear in the image or the repo.
set -eu

passwd=/mosquitto/run/passwd
mkdir -p /mosquitto/run
: > "$passwd"
chmod 0600 "$passwd"

for user in securityvision gateway cambus; do
    upper=$(echo "$user" | tr '[:lower:]' '[:upper:]')
    eval "file=\${MQTT_${upper}_PASSWORD_FILE:-}"
    eval "value=\${MQTT_${upper}_PASSWORD:-}"
    if [ -n "$file" ]; then
        value=$(cat "$file")
    fi
    if [ -z "$value" ]; then
        echo "mosquitto-entrypoint: no password for MQTT user '$user' (MQTT_${upper}_PASSWORD_FILE)" >&2
        exit 1
    fi
    mosquitto_passwd -b "$passwd" "$user" "$value"
done
chown -R mosquitto:mosquitto /mosquitto/run /mosquitto/data 2>/dev/null || true

exec mosquitto -c "${MOSQUITTO_CONF:-/mosquitto/config/mosquitto.conf}"
