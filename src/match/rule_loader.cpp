#include "match/rule_loader.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <sstream>
#include <system_error>
#include <utility>

namespace ds::match_detail {
namespace {

namespace fs = std::filesystem;

int line_of(const YAML::Mark& mark) {
  return mark.is_null() ? 0 : mark.line + 1;
}
int line_of(const YAML::Node& node) {
  return line_of(node.Mark());
}

struct FieldName {
  std::string_view name;
  uint32_t mask;
  TextField example_field;  // what an example is fed as when this is the rule's first field
};
constexpr FieldName kFieldNames[] = {
    {"system", field_bit(TextField::system), TextField::system},
    {"user", field_bit(TextField::user), TextField::user},
    {"assistant", field_bit(TextField::assistant), TextField::assistant},
    {"tool", field_bit(TextField::tool), TextField::tool},
    {"any_message", kAnyMessageFields, TextField::user},
    {"prompt", field_bit(TextField::prompt), TextField::prompt},
    {"user_agent", field_bit(TextField::user_agent), TextField::user_agent},
};

struct FlagName {
  std::string_view name;
  unsigned bit;
};
constexpr FlagName kFlagNames[] = {
    {"caseless", kCaseless}, {"dotall", kDotAll}, {"multiline", kMultiline}, {"utf8", kUtf8}, {"ucp", kUcp},
};
constexpr unsigned kDefaultFlags = kCaseless | kUtf8;

constexpr std::string_view kRuleKeys[] = {"id",    "description", "category", "fields",
                                          "flags", "weight",      "patterns", "examples"};
constexpr std::string_view kRequiredKeys[] = {"id", "description", "category", "fields", "patterns"};
constexpr std::string_view kExampleKeys[] = {"match", "no_match"};
constexpr std::string_view kTopKeys[] = {"rules"};

// Hyperscan copies a group once per repetition of a bounded repeat, and its
// compile time grows with the copies: `(impartial|fair|objective|unbiased){N}`
// took 3.6 s to compile at N=50 and 60 s at N=1000 (release build; the rules
// fuzzer found the latter). Patterns are refused above this many positions
// after unrolling, so loading a rule file stays quick.
constexpr size_t kMaxUnrolledPositions = 1000;

// Positions of `re` with its bounded group repeats unrolled: each literal
// byte, escape or character class counts 1, a group counts its contents, and
// a group followed by {n}, {n,} or {n,m} counts that many times its larger
// bound. A bounded repeat of one character or class counts once: Hyperscan
// runs those in a repeat engine instead of copying them. Saturates.
size_t unrolled_positions(std::string_view re) {
  constexpr size_t kCap = size_t{1} << 40;
  std::vector<size_t> open{0};  // size so far of each open group; [0] = the whole pattern
  size_t last_group = 0;        // size of a group that just closed (0 = the last atom was no group)
  const size_t n = re.size();
  for (size_t i = 0; i < n; ++i) {
    const char c = re[i];
    if (c == '{') {  // a quantifier when it reads {n}, {n,} or {n,m}; else a literal
      size_t j = i + 1, lo = 0, hi = 0;
      bool lo_digits = false, hi_digits = false, comma = false;
      for (; j < n && re[j] >= '0' && re[j] <= '9'; ++j) lo = std::min(kCap, lo * 10 + static_cast<size_t>(re[j] - '0')), lo_digits = true;
      if (j < n && re[j] == ',') {
        comma = true;
        for (++j; j < n && re[j] >= '0' && re[j] <= '9'; ++j) hi = std::min(kCap, hi * 10 + static_cast<size_t>(re[j] - '0')), hi_digits = true;
      }
      if (lo_digits && j < n && re[j] == '}') {
        const size_t times = comma && hi_digits ? std::max(lo, hi) : lo;
        if (last_group > 0 && times > 1) open.back() = std::min(kCap, open.back() + last_group * std::min(kCap, times - 1));
        last_group = 0;
        i = j;
        continue;
      }
    }
    last_group = 0;
    if (c == '(') {
      open.push_back(0);
    } else if (c == ')') {
      if (open.size() > 1) {
        last_group = open.back();
        open.pop_back();
        open.back() = std::min(kCap, open.back() + last_group);
      }
    } else if (c == '|' || c == '*' || c == '+' || c == '?' || c == '^' || c == '$') {
      // operators: no position of their own
    } else {
      if (c == '\\') {
        ++i;  // the escaped byte (\x{...} and the like count as a few positions: an overestimate)
      } else if (c == '[') {  // a class up to its closing ']' (one right after '[' or '[^' is literal)
        size_t j = i + 1;
        if (j < n && re[j] == '^') ++j;
        if (j < n && re[j] == ']') ++j;
        for (; j < n && re[j] != ']'; ++j)
          if (re[j] == '\\') ++j;
        i = j;
      }
      open.back() = std::min(kCap, open.back() + 1);
    }
  }
  size_t total = 0;
  for (size_t g : open) total = std::min(kCap, total + g);  // unclosed groups: Hyperscan will say so
  return total;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// " (did you mean 'x'?)" for a near miss, else "".
template <class Names, class Proj>
std::string did_you_mean(std::string_view word, const Names& names, Proj proj) {
  std::string_view best;
  size_t best_d = 3;  // only suggest within two edits
  for (const auto& n : names) {
    const std::string_view cand = proj(n);
    const size_t d = edit_distance(word, cand);
    if (d < best_d) {
      best_d = d;
      best = cand;
    }
  }
  return best.empty() ? std::string() : " (did you mean '" + std::string(best) + "'?)";
}

template <class Names, class Proj>
std::string join_names(const Names& names, Proj proj) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += proj(n);
  }
  return out;
}

// Concatenates without the temporaries of a chain of operator+.
template <class... Parts>
std::string cat(const Parts&... parts) {
  std::string out;
  (out.append(std::string_view(parts)), ...);
  return out;
}

constexpr auto kSelf = [](std::string_view s) { return s; };
constexpr auto kFieldProj = [](const FieldName& f) { return f.name; };
constexpr auto kFlagProj = [](const FlagName& f) { return f.name; };

bool valid_word(std::string_view s, bool allow_dot_dash) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           (allow_dot_dash && (c == '.' || c == '-'));
  });
}

const char* node_kind(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Scalar:
      return "a single value";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "an undefined value";
  }
}

// Counts the documents of a YAML stream without building them. YAML::LoadAll
// is not used: yaml-cpp 0.7 (Debian 12) loops forever on some malformed
// streams, pushing null documents until memory runs out (25 bytes such as
// ",ules: [x]\n---\nrll]"; fixed upstream in jbeder/yaml-cpp#1319), so the
// loop below stops at two documents, which is all the loader needs to know.
class DocumentCounter final : public YAML::EventHandler {
 public:
  int documents = 0;
  YAML::Mark second;  // where the second document starts
  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents == 2) second = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

class FileParser {
 public:
  FileParser(const std::string& file, std::vector<Rule>& rules, std::vector<RuleDiagnostic>& diags)
      : file_(file), rules_(rules), diags_(diags) {}

  void parse(std::string_view text) {
    YAML::Node first;
    DocumentCounter counter;
    try {
      const std::string yaml(text);
      first = YAML::Load(yaml);  // the first document only
      std::istringstream in(yaml);
      YAML::Parser parser(in);
      for (int n = 0; n < 2 && parser.HandleNextDocument(counter); ++n) {
      }
    } catch (const YAML::ParserException& e) {
      error(line_of(e.mark), "YAML syntax error: " + e.msg);
      return;
    } catch (const YAML::Exception& e) {
      error(line_of(e.mark), "cannot read YAML: " + e.msg);
      return;
    }
    if (!first.IsDefined() || first.IsNull()) {
      error(1, "empty rule file: expected a top-level 'rules:' list");
      return;
    }
    if (counter.documents > 1) {
      error(line_of(counter.second), "more than one YAML document ('---'); put every rule under one 'rules:' list");
    }
    try {
      parse_top(first);
    } catch (const YAML::Exception& e) {  // defensive: conversions are checked, but never let one escape
      error(line_of(e.mark), "cannot read YAML: " + e.msg);
    }
  }

 private:
  void error(int line, std::string message) {
    diags_.push_back(RuleDiagnostic{file_, line, std::move(message)});
  }
  void error(const YAML::Node& node, std::string message) { error(line_of(node), std::move(message)); }

  void parse_top(const YAML::Node& top) {
    if (!top.IsMap()) {
      error(top, std::string("expected a mapping with a 'rules:' list at the top, found ") + node_kind(top));
      return;
    }
    bool have_rules = false;
    for (const auto& kv : top) {  // yaml-cpp iterators yield proxies: copy the nodes out
      const YAML::Node k = kv.first;
      const YAML::Node list = kv.second;
      const std::string key = k.IsScalar() ? k.Scalar() : std::string();
      if (key != "rules") {
        error(k, "unknown top-level key '" + key + "'" + did_you_mean(key, kTopKeys, kSelf) +
                     "; a rule file holds only 'rules:'");
        continue;
      }
      if (have_rules) {
        error(k, "duplicate key 'rules'");
        continue;
      }
      have_rules = true;
      if (!list.IsSequence()) {
        error(list.IsNull() ? k : list,
              std::string("'rules' must be a list of rules, found ") + node_kind(list));
        continue;
      }
      for (const YAML::Node& entry : list) {
        if (!entry.IsMap()) {
          error(entry, std::string("each entry of 'rules' must be a mapping (id, description, ...), found ") +
                           node_kind(entry));
          continue;
        }
        parse_rule(entry);
      }
    }
    if (!have_rules) error(top, "missing top-level key 'rules'");
  }

  // A non-empty string from a scalar node; otherwise a diagnostic.
  bool string_value(const YAML::Node& node, const std::string& what, std::string& out) {
    if (!node.IsScalar() || node.Scalar().empty()) {
      error(node, what + " must be a non-empty string, found " +
                      (node.IsScalar() ? "an empty string" : node_kind(node)));
      return false;
    }
    out = node.Scalar();
    return true;
  }

  void parse_rule(const YAML::Node& node) {
    Rule rule;
    rule.file = file_;
    rule.line = line_of(node);
    rule.weight = 1.0;

    // Name the rule in messages as soon as possible, whatever the key order.
    std::string label = "rule #" + std::to_string(++rule_count_) + ": ";
    for (const auto& kv : node) {
      const YAML::Node k = kv.first;
      const YAML::Node v = kv.second;
      if (k.IsScalar() && k.Scalar() == "id" && v.IsScalar()) {
        label = "rule " + v.Scalar() + ": ";
        break;
      }
    }

    std::vector<std::string> seen;
    unsigned flags = kDefaultFlags;
    int flags_line = 0;
    bool have_example_field = false;
    TextField example_field = TextField::user;

    for (const auto& kv : node) {
      const YAML::Node k = kv.first;
      const YAML::Node v = kv.second;
      if (!k.IsScalar()) {
        error(k, label + "keys must be plain words, found " + node_kind(k));
        continue;
      }
      const std::string key = k.Scalar();
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
        error(k, cat(label, "duplicate key '", key, "'"));
        continue;
      }
      seen.push_back(key);

      if (key == "id") {
        if (string_value(v, label + "'id'", rule.id) && !valid_word(rule.id, true)) {
          error(v, label + "'id' may contain only a-z, 0-9, '_', '.' and '-'");
        }
      } else if (key == "description") {
        string_value(v, label + "'description'", rule.description);
      } else if (key == "category") {
        if (string_value(v, label + "'category'", rule.category) && !valid_word(rule.category, false)) {
          error(v, label + "'category' may contain only a-z, 0-9 and '_'");
        }
      } else if (key == "fields") {
        parse_fields(v, label, rule, have_example_field, example_field);
      } else if (key == "flags") {
        flags_line = line_of(k);
        flags = parse_flags(v, label);
      } else if (key == "weight") {
        double w = 0;
        if (!v.IsScalar() || !YAML::convert<double>::decode(v, w) || !std::isfinite(w) || w <= 0) {
          error(v.IsNull() ? k : v, label + "'weight' must be a number > 0");
        } else {
          rule.weight = w;
        }
      } else if (key == "patterns") {
        parse_patterns(k, v, label, rule);
      } else if (key == "examples") {
        parse_examples(v, label, rule);
      } else {
        error(k, cat(label, "unknown key '", key, "'", did_you_mean(key, kRuleKeys, kSelf),
                     "; allowed keys: ", join_names(kRuleKeys, kSelf)));
      }
    }

    for (std::string_view req : kRequiredKeys) {
      if (std::find(seen.begin(), seen.end(), req) == seen.end()) {
        error(rule.line, label + "missing required key '" + std::string(req) + "'");
      }
    }
    if ((flags & kUcp) && !(flags & kUtf8)) {
      error(flags_line, label + "flag 'ucp' requires flag 'utf8'");
    }
    for (RulePattern& p : rule.patterns) p.flags = flags;
    for (RuleExample& e : rule.examples) e.field = example_field;
    rules_.push_back(std::move(rule));
  }

  void parse_fields(const YAML::Node& v, const std::string& label, Rule& rule, bool& have_first,
                    TextField& first) {
    if (!v.IsSequence() || v.size() == 0) {
      error(v, label + "'fields' must be a non-empty list, e.g. [user, system]; allowed: " +
                   join_names(kFieldNames, kFieldProj));
      return;
    }
    for (const YAML::Node& item : v) {
      const std::string name = item.IsScalar() ? item.Scalar() : std::string();
      const auto* f = std::find_if(std::begin(kFieldNames), std::end(kFieldNames),
                                   [&](const FieldName& fn) { return fn.name == name; });
      if (f == std::end(kFieldNames)) {
        error(item, cat(label, "unknown field '", name, "'", did_you_mean(name, kFieldNames, kFieldProj),
                        "; allowed: ", join_names(kFieldNames, kFieldProj)));
        continue;
      }
      rule.field_mask |= f->mask;
      if (!have_first) {
        have_first = true;
        first = f->example_field;
      }
    }
  }

  unsigned parse_flags(const YAML::Node& v, const std::string& label) {
    if (!v.IsSequence()) {
      error(v, label + "'flags' must be a list, e.g. [caseless, utf8]; allowed: " +
                   join_names(kFlagNames, kFlagProj));
      return kDefaultFlags;
    }
    unsigned flags = 0;
    for (const YAML::Node& item : v) {
      const std::string name = item.IsScalar() ? item.Scalar() : std::string();
      const auto* f = std::find_if(std::begin(kFlagNames), std::end(kFlagNames),
                                   [&](const FlagName& fl) { return fl.name == name; });
      if (f == std::end(kFlagNames)) {
        error(item, cat(label, "unknown flag '", name, "'", did_you_mean(name, kFlagNames, kFlagProj),
                        "; allowed: ", join_names(kFlagNames, kFlagProj)));
        continue;
      }
      flags |= f->bit;
    }
    return flags;
  }

  void parse_patterns(const YAML::Node& k, const YAML::Node& v, const std::string& label, Rule& rule) {
    if (!v.IsSequence() || v.size() == 0) {
      error(v.IsNull() ? k : v, label + "'patterns' must be a non-empty list of Hyperscan expressions");
      return;
    }
    for (const YAML::Node& item : v) {
      if (item.IsNull() || (item.IsScalar() && item.Scalar().empty())) {
        error(item.IsNull() ? k : item, label + "empty pattern");
        continue;
      }
      if (!item.IsScalar()) {
        error(item, label + "pattern must be a string, found " + node_kind(item) +
                        " (quote it: an unquoted ': ' or '#' changes its meaning in YAML)");
        continue;
      }
      if (item.Scalar().find('\0') != std::string::npos) {
        error(item, label + "pattern contains a NUL byte; write it as \\x00");
        continue;
      }
      if (const size_t unrolled = unrolled_positions(item.Scalar()); unrolled > kMaxUnrolledPositions) {
        error(item, label + "pattern too large once its bounded repeats are unrolled (about " +
                        std::to_string(unrolled) + " positions, limit " + std::to_string(kMaxUnrolledPositions) +
                        "): Hyperscan copies a repeated group once per repetition, and compiling the copies "
                        "takes seconds to minutes; use a smaller bound, or + / *");
        continue;
      }
      rule.patterns.push_back(RulePattern{item.Scalar(), 0, line_of(item)});
    }
  }

  void parse_examples(const YAML::Node& v, const std::string& label, Rule& rule) {
    if (!v.IsMap()) {
      error(v, label + "'examples' must be a mapping with 'match:' and/or 'no_match:' lists");
      return;
    }
    std::vector<std::string> seen;
    for (const auto& kv : v) {
      const YAML::Node k = kv.first;
      const YAML::Node list = kv.second;
      const std::string key = k.IsScalar() ? k.Scalar() : std::string();
      if (key != "match" && key != "no_match") {
        error(k, cat(label, "unknown key '", key, "' in 'examples'", did_you_mean(key, kExampleKeys, kSelf),
                     "; allowed: match, no_match"));
        continue;
      }
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
        error(k, cat(label, "duplicate key '", key, "' in 'examples'"));
        continue;
      }
      seen.push_back(key);
      if (!list.IsSequence()) {
        error(list.IsNull() ? k : list, cat(label, "'examples.", key, "' must be a list of strings"));
        continue;
      }
      for (const YAML::Node& item : list) {
        if (!item.IsScalar()) {
          error(item, label + "example must be a string, found " + node_kind(item));
          continue;
        }
        rule.examples.push_back(RuleExample{item.Scalar(), key == "match", TextField::user, line_of(item)});
      }
    }
  }

  const std::string& file_;
  std::vector<Rule>& rules_;
  std::vector<RuleDiagnostic>& diags_;
  int rule_count_ = 0;
};

bool is_rule_file(const fs::path& p) {
  const std::string name = p.filename().string();
  if (name.empty() || name[0] == '.') return false;  // editor swap/lock files
  const std::string ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml";
}

void read_one(const fs::path& path, std::vector<RuleSource>& out, std::vector<RuleDiagnostic>& diags) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diags.push_back(RuleDiagnostic{path.string(), 0, "cannot open rule file"});
    return;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    diags.push_back(RuleDiagnostic{path.string(), 0, "cannot read rule file"});
    return;
  }
  out.push_back(RuleSource{path.string(), std::move(text).str()});
}

}  // namespace

std::vector<RuleSource> read_rule_sources(const std::vector<std::string>& paths,
                                          std::vector<RuleDiagnostic>& diagnostics) {
  std::vector<RuleSource> out;
  for (const std::string& p : paths) {
    const fs::path path(p);
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st)) {
      diagnostics.push_back(RuleDiagnostic{p, 0, "no such file or directory"});
      continue;
    }
    if (!fs::is_directory(st)) {
      read_one(path, out, diagnostics);
      continue;
    }
    std::vector<fs::path> files;
    for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code fec;
      if (is_rule_file(it->path()) && it->is_regular_file(fec)) files.push_back(it->path());
    }
    if (ec) {
      diagnostics.push_back(RuleDiagnostic{p, 0, "cannot list directory: " + ec.message()});
      continue;
    }
    if (files.empty()) {
      diagnostics.push_back(RuleDiagnostic{p, 0, "no rule files (*.yaml, *.yml) in directory"});
      continue;
    }
    std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
      return a.filename().string() < b.filename().string();
    });
    for (const fs::path& f : files) read_one(f, out, diagnostics);
  }
  return out;
}

void parse_rule_file(std::string_view yaml, const std::string& file, std::vector<Rule>& rules,
                     std::vector<RuleDiagnostic>& diagnostics) {
  FileParser(file, rules, diagnostics).parse(yaml);
}

}  // namespace ds::match_detail
