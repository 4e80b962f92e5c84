#!/usr/bin/env bash
# Creates the request topic and the cluster fingerprint topic for
# `distillscan consume`, with the stock Kafka CLI.
# Usage: create-topics.sh BOOTSTRAP TOPIC PARTITIONS [REPLICATION]
set -euo pipefail
bs=$1; topic=$2; parts=$3; repl=${4:-3}
kt=${KAFKA_TOPICS:-kafka-topics.sh}
"$kt" --bootstrap-server "$bs" --create --if-not-exists --topic "$topic" --partitions "$parts" \
  --replication-factor "$repl" --config retention.ms=$((3 * 86400000)) --config cleanup.policy=delete
# One partition: every instance reads the fingerprints of all, in one order.
"$kt" --bootstrap-server "$bs" --create --if-not-exists --topic "$topic.clusters" --partitions 1 \
  --replication-factor "$repl" --config retention.ms=86400000 --config cleanup.policy=delete
