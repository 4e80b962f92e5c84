// kafka_mock_broker: librdkafka's built-in mock Kafka cluster on loopback,
// for tests. Creates the topics given, prints the bootstrap address (one
// line, flushed) and serves until SIGTERM/SIGINT.
//   kafka_mock_broker [--brokers N] [--topic NAME:PARTITIONS]...
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  int brokers = 1;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  rd_kafka_t* rk = nullptr;
  rd_kafka_mock_cluster_t* mc = nullptr;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before librdkafka starts its threads
  for (int i = 1; i < argc; ++i)
    if (!std::strcmp(argv[i], "--brokers") && i + 1 < argc) brokers = std::atoi(argv[++i]);
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
  rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    std::fprintf(stderr, "kafka_mock_broker: %s\n", errstr);
    return 1;
  }
  mc = rd_kafka_mock_cluster_new(rk, brokers < 1 ? 1 : brokers);
  if (!mc) {
    std::fprintf(stderr, "kafka_mock_broker: cannot create the mock cluster\n");
    return 1;
  }
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--topic") && i + 1 < argc) {
      std::string spec = argv[++i];
      auto colon = spec.rfind(':');
      int parts = colon == std::string::npos ? 1 : std::atoi(spec.c_str() + colon + 1);
      std::string name = spec.substr(0, colon);
      if (auto e = rd_kafka_mock_topic_create(mc, name.c_str(), parts < 1 ? 1 : parts, 1); e) {
        std::fprintf(stderr, "kafka_mock_broker: topic %s: %s\n", name.c_str(), rd_kafka_err2str(e));
        return 1;
      }
    }
  }
  std::printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
