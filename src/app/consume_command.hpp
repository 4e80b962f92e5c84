// `consume` (Kafka consumer group) and `listen` (TCP JSON lines): long-running
// modes over src/ingest sources, built like `tail` (live pipeline, checkpoints
// in --state-dir, SIGTERM/SIGINT = drain + checkpoint + exit 0, SIGHUP reload).
#pragma once
#include <string>
#include <vector>

#include "app/scan_command.hpp"

namespace ds {

struct ConsumeArgs : TailArgs {
  std::string brokers;
  std::string topic;
  std::string group;
  std::vector<std::string> kafka_props;  // -X key=value (librdkafka settings)
  std::string rebuild = "1d";            // replay span for a partition gained without state ("all" = everything retained)
  std::string cluster_topic;             // "" = TOPIC.clusters; "off" = partition-local cluster detection only
};
int run_consume(const ConsumeArgs& args);

struct ListenArgs : TailArgs {
  std::string tcp = "127.0.0.1:9750";
  int max_connections = 256;
  std::string max_line;          // "" = config limits.max_line_bytes
  std::string idle_timeout = "5m";
  std::string drain_timeout = "5s";
  std::string buffer;            // "" = limits.chunk_bytes: buffered bytes before sockets stop being read
  std::string port_file;         // write the bound HOST:PORT here (tests; port 0)
};
int run_listen(const ListenArgs& args);

}  // namespace ds
