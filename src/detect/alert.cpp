#include "detect/alert.hpp"

#include <cstdio>

#include "core/json_write.hpp"

namespace ds {

void reasons_json_append(std::string& o, const std::vector<AlertReason>& reasons) {
  for (size_t i = 0; i < reasons.size(); ++i) {
    if (i) o += ',';
    o += "{\"detector\":";
    json_escape_append(o, reasons[i].detector);
    o += ",\"value\":";
    json_number_append(o, reasons[i].value);
    o += ",\"threshold\":";
    json_number_append(o, reasons[i].threshold);
    o += '}';
  }
}

void format_time_utc_append(std::string& out, int64_t time_ms) {
  // Civil-from-days (proleptic Gregorian), independent of the C library's TZ.
  int64_t secs = time_ms >= 0 ? time_ms / 1000 : (time_ms - 999) / 1000;
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t sod = secs - days * 86400;
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  if (y >= 0 && y <= 9999) {
    // Digits by hand: snprintf was most of an alert line's formatting
    // (alert lines are written on the collector thread).
    const auto two = [](char* p, int64_t v) {
      p[0] = static_cast<char>('0' + v / 10);
      p[1] = static_cast<char>('0' + v % 10);
    };
    char buf[20];
    two(buf, y / 100);
    two(buf + 2, y % 100);
    buf[4] = '-';
    two(buf + 5, m);
    buf[7] = '-';
    two(buf + 8, d);
    buf[10] = 'T';
    two(buf + 11, sod / 3600);
    buf[13] = ':';
    two(buf + 14, sod / 60 % 60);
    buf[16] = ':';
    two(buf + 17, sod % 60);
    out.append(buf, 19);
    out.push_back('Z');
    return;
  }
  char buf[128];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ", static_cast<long long>(y),
                static_cast<long long>(m), static_cast<long long>(d), static_cast<long long>(sod / 3600),
                static_cast<long long>(sod / 60 % 60), static_cast<long long>(sod % 60));
  out += buf;
}

std::string format_time_utc(int64_t time_ms) {
  std::string s;
  format_time_utc_append(s, time_ms);
  return s;
}

void alert_to_json_append(std::string& o, const Alert& a) {
  o += "{\"id\":";
  json_escape_append(o, a.id);
  o += ",\"time\":\"";
  format_time_utc_append(o, a.time_ms);  // digits, '-', 'T', ':', 'Z': nothing to escape
  o += "\",\"account\":";
  json_escape_append(o, a.account);
  o += ",\"severity\":";
  o += a.critical ? "\"critical\"" : "\"warning\"";
  o += ",\"score\":";
  json_number_append(o, a.score);
  o += ",\"reasons\":[";
  reasons_json_append(o, a.reasons);
  o += ']';
  if (a.has_cluster) {
    o += ",\"cluster\":{\"id\":";
    json_escape_append(o, a.cluster.id);
    o += ",\"size\":";
    json_uint_append(o, a.cluster.size);
    o += ",\"members\":[";
    for (size_t i = 0; i < a.cluster.members.size(); ++i) {
      if (i) o += ',';
      json_escape_append(o, a.cluster.members[i]);
    }
    o += "]}";
  }
  o += ",\"evidence\":{\"requests\":";
  json_uint_append(o, a.requests);
  o += ",\"sample_request_ids\":[";
  for (size_t i = 0; i < a.sample_request_ids.size(); ++i) {
    if (i) o += ',';
    json_escape_append(o, a.sample_request_ids[i]);
  }
  o += "]}}";
}

std::string alert_to_json(const Alert& a) {
  std::string o;
  o.reserve(256);
  alert_to_json_append(o, a);
  return o;
}

}  // namespace ds
