// See bare_parse_od.hpp.
#include "bare_parse_od.hpp"

#include <simdjson.h>

#include <string_view>

namespace {

using namespace simdjson;

// Touch every value of an On Demand value (strings unescaped, numbers parsed).
error_code touch(ondemand::value v, uint64_t& values) {
  ++values;
  ondemand::json_type t;
  if (auto e = v.type().get(t)) return e;
  switch (t) {
    case ondemand::json_type::object: {
      ondemand::object obj;
      if (auto e = v.get_object().get(obj)) return e;
      for (auto field : obj) {
        std::string_view k;
        if (auto e = field.unescaped_key().get(k)) return e;
        ondemand::value child;
        if (auto e = field.value().get(child)) return e;
        if (auto e = touch(child, values)) return e;
      }
      return SUCCESS;
    }
    case ondemand::json_type::array: {
      ondemand::array arr;
      if (auto e = v.get_array().get(arr)) return e;
      for (auto el : arr) {
        ondemand::value child;
        if (auto e = el.get(child)) return e;
        if (auto e = touch(child, values)) return e;
      }
      return SUCCESS;
    }
    case ondemand::json_type::string: {
      std::string_view s;
      return v.get_string().get(s);
    }
    case ondemand::json_type::number: {
      ondemand::number n;
      return v.get_number().get(n);
    }
    case ondemand::json_type::boolean: {
      bool b;
      return v.get_bool().get(b);
    }
    case ondemand::json_type::null: {
      bool is_null = false;
      if (auto e = v.is_null().get(is_null)) return e;
      return is_null ? SUCCESS : INCORRECT_TYPE;
    }
  }
  return SUCCESS;
}

bool parse_line(ondemand::parser& parser, const char* p, size_t len, size_t cap, uint64_t& values) {
  ondemand::document doc;
  if (parser.iterate(p, len, cap).get(doc)) return false;
  ondemand::json_type t;
  if (doc.type().get(t)) return false;
  if (t == ondemand::json_type::object || t == ondemand::json_type::array) {
    ondemand::value v;
    if (doc.get_value().get(v)) return false;
    if (touch(v, values)) return false;
  } else {
    // Scalar document: read it through the document API.
    ++values;
    std::string_view s;
    double d;
    bool b;
    error_code e = t == ondemand::json_type::string    ? doc.get_string().get(s)
                   : t == ondemand::json_type::number  ? doc.get_double().get(d)
                   : t == ondemand::json_type::boolean ? doc.get_bool().get(b)
                                                       : (doc.is_null() ? SUCCESS : INCORRECT_TYPE);
    if (e) return false;
  }
  return true;
}

void* create() {
  return new ondemand::parser();
}
void destroy(void* p) {
  delete static_cast<ondemand::parser*>(p);
}
bool parse(void* p, const char* s, size_t len, size_t cap, uint64_t* values) {
  return parse_line(*static_cast<ondemand::parser*>(p), s, len, cap, *values);
}

#define BP_STR2(x) #x
#define BP_STR(x) BP_STR2(x)
const OdKernel kKernel{BP_STR(SIMDJSON_BUILTIN_IMPLEMENTATION), create, destroy, parse};

}  // namespace

const OdKernel* bare_parse_od() {
  return &kKernel;
}
