#!/bin/bash
# The official Flink image's entrypoint commands (jobmanager, taskmanager) and settings (FLINK_PROPERTIES, one
# "key: value" a line; JOB_MANAGER_RPC_ADDRESS), run as the flink user in the foreground.
set -euo pipefail

args=(-D "jobmanager.rpc.address=${JOB_MANAGER_RPC_ADDRESS:-$(hostname -f)}" -D blob.server.port=6124 -D query.server.port=6125)
if [ -n "${TASK_MANAGER_NUMBER_OF_TASK_SLOTS:-}" ]; then
    args+=(-D "taskmanager.numberOfTaskSlots=${TASK_MANAGER_NUMBER_OF_TASK_SLOTS}")
fi
while IFS= read -r line; do
    [[ "$line" =~ ^[[:space:]]*([^:#[:space:]]+)[[:space:]]*:[[:space:]]*(.*[^[:space:]])[[:space:]]*$ ]] || continue
    args+=(-D "${BASH_REMATCH[1]}=${BASH_REMATCH[2]}")
done <<< "${FLINK_PROPERTIES:-}"

as_flink() {
    if [ "$(id -u)" = 0 ]; then exec setpriv --reuid=flink --regid=flink --init-groups "$@"; else exec "$@"; fi
}

case "${1:-help}" in
    jobmanager | taskmanager)
        "$FLINK_HOME/bin/config-parser-utils.sh" "$FLINK_HOME/conf" "$FLINK_HOME/bin" "$FLINK_HOME/lib" "${args[@]}" >/dev/null
        as_flink "$FLINK_HOME/bin/$1.sh" start-foreground "${@:2}"
        ;;
    help)
        echo "Usage: $(basename "$0") (jobmanager|taskmanager|help)"
        ;;
    *)
        as_flink "$@"
        ;;
esac
