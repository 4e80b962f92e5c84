#include "textgen.hpp"

#include <cstring>

#include "json_text.hpp"

namespace gen {

namespace {
using SV = std::string_view;

constexpr SV kNoun[] = {
    "system",     "team",         "customer",  "report",     "process",       "model",         "network",
    "policy",     "budget",       "market",    "service",    "database",      "schedule",      "proposal",
    "strategy",   "project",      "community", "supplier",   "contract",      "platform",      "dataset",
    "experiment", "hypothesis",   "pipeline",  "framework",  "workflow",      "deadline",      "feature",
    "release",    "migration",    "protocol",  "inventory",  "campaign",      "survey",        "analysis",
    "forecast",   "interface",    "library",   "committee",  "neighbourhood", "garden",        "kitchen",
    "museum",     "library card", "river",     "bridge",     "engine",        "battery",       "sensor",
    "algorithm",  "transaction",  "invoice",   "shipment",   "warehouse",     "classroom",     "curriculum",
    "patient",    "clinic",       "treatment", "regulation", "audit",         "portfolio",     "mortgage",
    "startup",    "prototype",    "design",    "layout",     "document",      "account",       "dashboard",
    "metric",     "incident",     "outage",    "deployment", "cluster",       "configuration", "license",
    "agreement",  "partnership",  "festival",  "recipe",     "itinerary",     "reservation",   "apartment",
    "landlord",   "vehicle",      "route",     "climate",    "forest",        "harvest"};
constexpr SV kAdj[] = {
    "new",         "previous",   "critical",  "simple",      "complex", "reliable",    "unexpected",
    "detailed",    "quarterly",  "internal",  "external",    "robust",  "fragile",     "efficient",
    "expensive",   "affordable", "flexible",  "strict",      "modern",  "legacy",      "temporary",
    "permanent",   "public",     "private",   "shared",      "remote",  "local",       "global",
    "regional",    "annual",     "weekly",    "preliminary", "final",   "initial",     "secondary",
    "primary",     "manual",     "automated", "scalable",    "noisy",   "quiet",       "crowded",
    "sustainable", "ambitious",  "careful",   "rapid",       "gradual", "significant", "minor",
    "major",       "hidden",     "visible",   "accurate",    "rough",   "balanced"};
constexpr SV kVerbPast[] = {"reviewed",  "improved",  "delayed",    "replaced",   "analysed",  "approved",
                            "rejected",  "updated",   "measured",   "tested",     "designed",  "launched",
                            "cancelled", "reduced",   "increased",  "documented", "migrated",  "shared",
                            "discussed", "evaluated", "simplified", "expanded",   "supported", "questioned",
                            "scheduled", "resolved",  "reported",   "tracked",    "adjusted",  "combined",
                            "separated", "compared",  "estimated",  "finished",   "started"};
constexpr SV kVerb3[] = {"requires",  "affects",    "improves",   "supports",    "reduces",
                         "increases", "depends on", "replaces",   "complements", "explains",
                         "covers",    "includes",   "limits",     "drives",      "shapes",
                         "protects",  "exposes",    "tracks",     "summarises",  "connects",
                         "separates", "extends",    "simplifies", "complicates", "anticipates"};
constexpr SV kAdverb[] = {"quickly",      "carefully",  "slowly",   "recently",     "usually",
                          "rarely",       "clearly",    "probably", "surprisingly", "steadily",
                          "consistently", "eventually", "partly",   "largely",      "formally",
                          "quietly",      "openly",     "directly", "gradually"};
constexpr SV kPrep[] = {"for",     "with",   "without", "after",  "before", "during",
                        "despite", "across", "within",  "around", "behind", "beyond",
                        "under",   "over",   "between", "among",  "through"};
constexpr SV kTime[] = {"last week",     "this morning",       "in the first quarter",    "over the summer",
                        "yesterday",     "since March",        "by the end of the month", "earlier today",
                        "two years ago", "after the holidays", "during the pilot",        "in the meantime",
                        "next spring"};
constexpr SV kPeople[] = {"the manager",     "our team",     "the engineers", "most customers",
                          "the committee",   "the landlord", "my colleague",  "the students",
                          "the researchers", "the board",    "the vendor",    "the nurses",
                          "the council",     "the new hire", "the auditors",  "my sister"};
constexpr SV kConnector[] = {"However, ",
                             "In addition, ",
                             "As a result, ",
                             "Meanwhile, ",
                             "For example, ",
                             "On the other hand, ",
                             "Still, ",
                             "In practice, ",
                             "Overall, ",
                             "Surprisingly, ",
                             "",
                             "",
                             "",
                             "",
                             ""};
constexpr SV kFirst[] = {"Alice", "Bob",    "Maria", "Wei",   "Priya", "Ahmed", "Olga", "Carlos",
                         "Yuki",  "Fatima", "John",  "Sofia", "Lucas", "Emma",  "Noah", "Aisha",
                         "Diego", "Hana",   "Ivan",  "Chloe", "Mateo", "Zara",  "Liam", "Mei",
                         "Kofi",  "Elena",  "Tom",   "Sara",  "Raj",   "Nina"};
constexpr SV kLast[] = {"Smith",    "Garcia",   "Chen",      "Patel",   "Kim",     "Müller",
                        "Rossi",    "Novak",    "Silva",     "Okafor",  "Ivanova", "Tanaka",
                        "Dubois",   "Haddad",   "Johansson", "O'Brien", "Nguyen",  "López",
                        "Kowalski", "Andersen", "Yilmaz",    "Costa",   "Sato",    "Brown"};

template <size_t N>
SV pick(Rng& rng, const SV (&a)[N]) {
  return a[rng.below(N)];
}

void cap_first(std::string& out, size_t pos) {
  if (pos < out.size() && out[pos] >= 'a' && out[pos] <= 'z') out[pos] = static_cast<char>(out[pos] - 32);
}
}  // namespace

void sentence(Rng& rng, std::string& out) {
  const size_t start = out.size();
  out += pick(rng, kConnector);
  switch (rng.below(9)) {
    case 0:
      out += "the ";
      out += pick(rng, kAdj);
      out += ' ';
      out += pick(rng, kNoun);
      out += ' ';
      out += pick(rng, kVerb3);
      out += " the ";
      out += pick(rng, kNoun);
      out += ' ';
      out += pick(rng, kPrep);
      out += " the ";
      out += pick(rng, kAdj);
      out += ' ';
      out += pick(rng, kNoun);
      out += '.';
      break;
    case 1:
      out += pick(rng, kPeople);
      out += ' ';
      out += pick(rng, kAdverb);
      out += ' ';
      out += pick(rng, kVerbPast);
      out += " the ";
      out += pick(rng, kNoun);
      out += ' ';
      out += pick(rng, kTime);
      out += '.';
      break;
    case 2:
      out += "we ";
      out += pick(rng, kVerbPast);
      out += " the ";
      out += pick(rng, kAdj);
      out += ' ';
      out += pick(rng, kNoun);
      out += ", but the ";
      out += pick(rng, kNoun);
      out += " still ";
      out += pick(rng, kVerb3);
      out += " a ";
      out += pick(rng, kAdj);
      out += " approach.";
      break;
    case 3:
      out += "about ";
      append_int(out, rng.range(2, 97));
      out += "% of the ";
      out += pick(rng, kNoun);
      out += "s were ";
      out += pick(rng, kVerbPast);
      out += ' ';
      out += pick(rng, kTime);
      out += ", which ";
      out += pick(rng, kVerb3);
      out += " our ";
      out += pick(rng, kNoun);
      out += '.';
      break;
    case 4:
      out += "if the ";
      out += pick(rng, kNoun);
      out += " is ";
      out += pick(rng, kAdj);
      out += ", ";
      out += pick(rng, kPeople);
      out += " should review the ";
      out += pick(rng, kNoun);
      out += ' ';
      out += pick(rng, kPrep);
      out += " the ";
      out += pick(rng, kNoun);
      out += '.';
      break;
    case 5:
      out += "the ";
      out += pick(rng, kNoun);
      out += " was ";
      out += pick(rng, kAdverb);
      out += ' ';
      out += pick(rng, kVerbPast);
      out += ", and nobody expected the ";
      out += pick(rng, kAdj);
      out += ' ';
      out += pick(rng, kNoun);
      out += " to matter so much.";
      break;
    case 6:
      out += "one ";
      out += pick(rng, kAdj);
      out += " option is to keep the ";
      out += pick(rng, kNoun);
      out += " and replace the ";
      out += pick(rng, kNoun);
      out += " (roughly ";
      append_int(out, rng.range(3, 450));
      out += rng.chance(0.5) ? " hours" : " EUR";
      out += ").";
      break;
    case 7:
      out += "\"";
      out += pick(rng, kAdj);
      out += ' ';
      out += pick(rng, kNoun);
      out += "\" is what ";
      out += pick(rng, kPeople);
      out += " called it ";
      out += pick(rng, kTime);
      out += '.';
      break;
    default:
      out += pick(rng, kPeople);
      out += " asked whether the ";
      out += pick(rng, kNoun);
      out += ' ';
      out += pick(rng, kVerb3);
      out += " the ";
      out += pick(rng, kAdj);
      out += ' ';
      out += pick(rng, kNoun);
      out += '?';
      break;
  }
  cap_first(out, start);
}

void paragraph(Rng& rng, std::string& out) {
  const int n = static_cast<int>(rng.range(3, 7));
  for (int i = 0; i < n; ++i) {
    if (i) out += ' ';
    sentence(rng, out);
  }
}

void paragraphs(Rng& rng, std::string& out, int n) {
  for (int i = 0; i < n; ++i) {
    if (i) out += "\n\n";
    paragraph(rng, out);
  }
}

void person_name(Rng& rng, std::string& out) {
  out += pick(rng, kFirst);
  out += ' ';
  out += pick(rng, kLast);
}

// ---------------------------------------------------------------- code ----
namespace {
constexpr SV kCodeVerb[] = {"get",       "load",   "parse",    "build",     "update", "compute",
                            "validate",  "render", "fetch",    "sync",      "handle", "resolve",
                            "normalize", "encode", "merge",    "filter",    "apply",  "collect",
                            "flush",     "retry",  "register", "serialize", "index",  "prune"};
constexpr SV kCodeNoun[] = {"user",    "order",  "config", "session", "token",   "invoice",
                            "payload", "record", "cache",  "item",    "account", "message",
                            "request", "report", "event",  "batch",   "profile", "schedule",
                            "metric",  "route",  "chunk",  "entry",   "job",     "policy"};
constexpr SV kField[] = {"id",       "name",     "status",     "created_at", "amount", "count",
                         "email",    "priority", "updated_at", "owner",      "tags",   "retries",
                         "deadline", "score",    "kind",       "parent"};
constexpr SV kErr[] = {
    "not found",     "invalid input",    "timeout exceeded", "permission denied", "unexpected end of stream",
    "missing field", "connection reset", "quota exceeded"};
constexpr SV kLangExt[] = {".py", ".ts", ".go", ".rs", ".java", ".sql"};

std::string ident(Rng& rng, bool camel) {
  std::string s(pick(rng, kCodeVerb));
  SV n = pick(rng, kCodeNoun);
  if (camel) {
    s += static_cast<char>(n[0] - 32);
    s += n.substr(1);
  } else {
    s += '_';
    s += n;
  }
  return s;
}

void py_function(Rng& rng, std::string& out) {
  const std::string fn = ident(rng, false);
  SV arg = pick(rng, kCodeNoun);
  SV f = pick(rng, kField);
  out += "def ";
  out += fn;
  out += '(';
  out += arg;
  out += "s, limit=";
  append_int(out, rng.range(1, 500));
  out += "):\n    \"\"\"";
  sentence(rng, out);
  out += "\"\"\"\n    if not ";
  out += arg;
  out += "s:\n        raise ValueError(\"";
  out += arg;
  out += ": ";
  out += pick(rng, kErr);
  out += "\")\n    result = []\n    for item in ";
  out += arg;
  out += "s:\n        if item.get(\"";
  out += f;
  out += "\") ";
  out += rng.chance(0.5) ? ">=" : "!=";
  out += ' ';
  append_int(out, rng.range(0, 99));
  out += ":\n            result.append(item)\n";
  if (rng.chance(0.5)) {
    out += "        elif item.get(\"";
    out += pick(rng, kField);
    out += "\") is None:\n            logger.warning(\"skipping %s: ";
    out += pick(rng, kErr);
    out += "\\n\", item)\n";
  }
  out += "    return result[:limit]\n\n\n";
}

void ts_function(Rng& rng, std::string& out) {
  const std::string fn = ident(rng, true);
  SV arg = pick(rng, kCodeNoun);
  out += "export async function ";
  out += fn;
  out += '(';
  out += arg;
  out += ": ";
  out += static_cast<char>(arg[0] - 32);
  out += arg.substr(1);
  out += ", opts: Options = {}): Promise<Result> {\n  // ";
  sentence(rng, out);
  out += "\n  const res = await fetch(`${opts.baseUrl ?? \"/api\"}/";
  out += arg;
  out += "s/${";
  out += arg;
  out += ".id}`, { method: \"POST\" });\n  if (!res.ok) {\n    throw new Error(`";
  out += pick(rng, kErr);
  out += ": ${res.status}`);\n  }\n  const data = await res.json();\n  return { ";
  out += pick(rng, kField);
  out += ": data.";
  out += pick(rng, kField);
  out += ", ok: true };\n}\n\n";
}

void go_function(Rng& rng, std::string& out) {
  std::string fn = ident(rng, true);
  fn[0] = static_cast<char>(fn[0] - 32);
  SV arg = pick(rng, kCodeNoun);
  out += "// ";
  out += fn;
  out += ' ';
  sentence(rng, out);
  out += "\nfunc (s *Store) ";
  out += fn;
  out += "(ctx context.Context, ";
  out += arg;
  out += "ID string) (*";
  out += static_cast<char>(arg[0] - 32);
  out += arg.substr(1);
  out += ", error) {\n\trow := s.db.QueryRowContext(ctx, \"SELECT ";
  out += pick(rng, kField);
  out += ", ";
  out += pick(rng, kField);
  out += " FROM ";
  out += arg;
  out += "s WHERE id = $1\", ";
  out += arg;
  out += "ID)\n\tvar v ";
  out += static_cast<char>(arg[0] - 32);
  out += arg.substr(1);
  out += "\n\tif err := row.Scan(&v.A, &v.B); err != nil {\n\t\treturn nil, fmt.Errorf(\"";
  out += pick(rng, kErr);
  out += ": %w\", err)\n\t}\n\treturn &v, nil\n}\n\n";
}

void rs_function(Rng& rng, std::string& out) {
  const std::string fn = ident(rng, false);
  SV arg = pick(rng, kCodeNoun);
  out += "/// ";
  sentence(rng, out);
  out += "\npub fn ";
  out += fn;
  out += "(";
  out += arg;
  out += "s: &[";
  out += static_cast<char>(arg[0] - 32);
  out += arg.substr(1);
  out += "]) -> Result<Vec<u64>, Error> {\n    let mut out = Vec::with_capacity(";
  out += arg;
  out += "s.len());\n    for x in ";
  out += arg;
  out += "s.iter().filter(|x| x.";
  out += pick(rng, kField);
  out += " > ";
  append_int(out, rng.range(0, 1000));
  out += ") {\n        out.push(x.";
  out += pick(rng, kField);
  out += ".checked_mul(";
  append_int(out, rng.range(2, 64));
  out += ").ok_or(Error::Overflow)?);\n    }\n    Ok(out)\n}\n\n";
}

void java_method(Rng& rng, std::string& out) {
  const std::string fn = ident(rng, true);
  SV arg = pick(rng, kCodeNoun);
  out += "    /** ";
  sentence(rng, out);
  out += " */\n    public List<String> ";
  out += fn;
  out += "(Map<String, Object> ";
  out += arg;
  out += ") {\n        List<String> out = new ArrayList<>();\n        for (Map.Entry<String, Object> e : ";
  out += arg;
  out += ".entrySet()) {\n            if (e.getKey().startsWith(\"";
  out += pick(rng, kField);
  out +=
      "\")) {\n            out.add(e.getKey() + \"=\" + e.getValue());\n            }\n        }\n"
      "        LOG.debug(\"";
  out += fn;
  out += " -> {}\", out.size());\n        return out;\n    }\n\n";
}

void sql_stmt(Rng& rng, std::string& out) {
  SV t = pick(rng, kCodeNoun);
  out += "-- ";
  sentence(rng, out);
  out += "\nSELECT o.";
  out += pick(rng, kField);
  out += ", COUNT(*) AS n, SUM(o.amount) AS total\nFROM ";
  out += t;
  out += "s o\nJOIN ";
  out += pick(rng, kCodeNoun);
  out += "s u ON u.id = o.";
  out += pick(rng, kField);
  out += "\nWHERE o.created_at >= DATE '2026-0";
  append_int(out, rng.range(1, 9));
  out += "-01' AND o.status <> 'cancelled'\nGROUP BY 1\nORDER BY total DESC\nLIMIT ";
  append_int(out, rng.range(10, 500));
  out += ";\n\n";
}

void file_header(Rng& rng, std::string& out, int lang) {
  switch (lang) {
    case 0:
      out +=
          "import logging\nimport os\nfrom dataclasses import dataclass\nfrom typing import Any\n\n"
          "logger = logging.getLogger(__name__)\n\n";
      if (rng.chance(0.5)) {
        out += "@dataclass\nclass ";
        SV n = pick(rng, kCodeNoun);
        out += static_cast<char>(n[0] - 32);
        out += n.substr(1);
        out += ":\n    id: str\n    ";
        out += pick(rng, kField);
        out += ": int = 0\n    tags: list[str] | None = None\n\n\n";
      }
      break;
    case 1:
      out += "import { z } from \"zod\";\nimport type { Options, Result } from \"./types\";\n\n";
      break;
    case 2:
      out += "package store\n\nimport (\n\t\"context\"\n\t\"database/sql\"\n\t\"fmt\"\n)\n\n";
      break;
    case 3:
      out += "use std::collections::HashMap;\nuse crate::error::Error;\n\n";
      break;
    case 4:
      out += "package com.example.service;\n\nimport java.util.*;\n\npublic class ";
      {
        SV n = pick(rng, kCodeNoun);
        out += static_cast<char>(n[0] - 32);
        out += n.substr(1);
      }
      out += "Service {\n    private static final Logger LOG = LoggerFactory.getLogger(\"svc\");\n\n";
      break;
    default:
      out += "-- migration ";
      append_int(out, rng.range(100, 999));
      out += "\n\n";
  }
}
}  // namespace

int language_count() {
  return 6;
}
std::string_view source_extension(int lang) {
  return kLangExt[lang % 6];
}

void source_file(Rng& rng, std::string& out, size_t target_bytes, int lang) {
  if (lang < 0) lang = static_cast<int>(rng.below(6));
  const size_t start = out.size();
  file_header(rng, out, lang);
  while (out.size() - start < target_bytes) {
    switch (lang) {
      case 0:
        py_function(rng, out);
        break;
      case 1:
        ts_function(rng, out);
        break;
      case 2:
        go_function(rng, out);
        break;
      case 3:
        rs_function(rng, out);
        break;
      case 4:
        java_method(rng, out);
        break;
      default:
        sql_stmt(rng, out);
    }
  }
  if (lang == 4) out += "}\n";
}

void code_snippet(Rng& rng, std::string& out) {
  static constexpr SV kFence[] = {"python", "typescript", "go", "rust", "java", "sql"};
  const int lang = static_cast<int>(rng.below(6));
  out += "```";
  out += kFence[lang];
  out += '\n';
  switch (lang) {
    case 0:
      py_function(rng, out);
      break;
    case 1:
      ts_function(rng, out);
      break;
    case 2:
      go_function(rng, out);
      break;
    case 3:
      rs_function(rng, out);
      break;
    case 4:
      java_method(rng, out);
      break;
    default:
      sql_stmt(rng, out);
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  out += "\n```";
}

void assistant_reply(Rng& rng, std::string& out, size_t target_bytes) {
  const size_t start = out.size();
  paragraph(rng, out);
  while (out.size() - start < target_bytes) {
    const uint64_t k = rng.below(6);
    out += "\n\n";
    if (k == 0) {
      const int items = static_cast<int>(rng.range(2, 6));
      for (int i = 0; i < items; ++i) {
        out += i ? "\n" : "";
        out += rng.chance(0.5) ? "- **" : "1. **";
        out += pick(rng, kAdj);
        out += ' ';
        out += pick(rng, kNoun);
        out += "**: ";
        sentence(rng, out);
      }
    } else if (k == 1 && target_bytes > 600) {
      code_snippet(rng, out);
    } else {
      paragraph(rng, out);
    }
  }
}

// ----------------------------------------------------------- tool output ----
void repo_path(Rng& rng, std::string& out) {
  static constexpr SV kDir[] = {"src", "lib", "app", "internal", "pkg", "services", "api", "core", "web"};
  static constexpr SV kSub[] = {"auth", "billing", "handlers",   "models", "utils", "storage",
                                "jobs", "http",    "components", "orders", "users", "notifications"};
  const int lang = static_cast<int>(rng.below(5));
  out += pick(rng, kDir);
  out += '/';
  out += pick(rng, kSub);
  out += '/';
  out += pick(rng, kCodeVerb);
  out += '_';
  out += pick(rng, kCodeNoun);
  out += kLangExt[lang];
}

void test_output(Rng& rng, std::string& out) {
  const int passed = static_cast<int>(rng.range(3, 400));
  const int failed = rng.chance(0.6) ? static_cast<int>(rng.range(1, 5)) : 0;
  out +=
      "============================= test session starts ==============================\n"
      "platform linux -- Python 3.12.7, pytest-8.3.3, pluggy-1.5.0\ncollected ";
  append_int(out, passed + failed);
  out += " items\n\n";
  const int files = static_cast<int>(rng.range(2, 8));
  for (int i = 0; i < files; ++i) {
    out += "tests/test_";
    out += pick(rng, kCodeNoun);
    out += ".py ";
    const int dots = static_cast<int>(rng.range(3, 40));
    for (int d = 0; d < dots; ++d) out += (failed && d == dots / 2 && i == 0) ? 'F' : '.';
    out += "   [";
    append_int(out, (i + 1) * 100 / files);
    out += "%]\n";
  }
  if (failed) {
    out +=
        "\n=================================== FAILURES ===================================\n"
        "___________________________ test_";
    out += ident(rng, false);
    out +=
        " ___________________________\n\n    def test_case():\n>       assert result == expected\n"
        "E       AssertionError: assert {'status': 'failed'} == {'status': 'ok'}\nE         Differing "
        "items:\n"
        "E         {'status': 'failed'} != {'status': 'ok'}\n\ntests/test_";
    out += pick(rng, kCodeNoun);
    out += ".py:";
    append_int(out, rng.range(10, 400));
    out += ": AssertionError\n";
  }
  out += "========================= ";
  if (failed) {
    append_int(out, failed);
    out += " failed, ";
  }
  append_int(out, passed);
  out += " passed in ";
  append_int(out, rng.range(1, 90));
  out += '.';
  append_int(out, rng.range(10, 99));
  out += "s =========================\n";
}

void grep_output(Rng& rng, std::string& out, std::string_view needle) {
  const int n = static_cast<int>(rng.range(1, 25));
  for (int i = 0; i < n; ++i) {
    repo_path(rng, out);
    out += ':';
    append_int(out, rng.range(1, 900));
    out += ":    ";
    out += rng.chance(0.5) ? "result = " : "if ";
    out += needle;
    out += '(';
    out += pick(rng, kCodeNoun);
    out += ")\n";
  }
}

void dir_listing(Rng& rng, std::string& out) {
  const int n = static_cast<int>(rng.range(5, 40));
  for (int i = 0; i < n; ++i) {
    repo_path(rng, out);
    out += '\n';
  }
}

// --------------------------------------------------------- foreign prose ----
namespace {
constexpr SV kZh[] = {"我们需要在下周之前完成这个项目的第一阶段。",
                      "这个系统的性能问题主要来自数据库查询。",
                      "请帮我检查一下这段代码有没有逻辑错误。",
                      "客户反馈说新版本的界面不太好用。",
                      "根据最新的数据，销售额比去年同期增长了百分之十五。",
                      "我想了解一下这个政策对小企业的影响。",
                      "今天的会议讨论了预算和人员安排的问题。",
                      "这篇文章的主要观点是技术应该服务于人。",
                      "如果时间允许，我们可以再增加一个测试环节。",
                      "老师建议我们多读一些经典的文学作品。",
                      "这个城市的交通状况在过去几年有了明显改善。",
                      "他认为这个方案的成本太高，风险也很大。"};
constexpr SV kRu[] = {"Нам нужно закончить первый этап проекта до следующей недели.",
                      "Проблемы с производительностью связаны в основном с запросами к базе данных.",
                      "Пожалуйста, проверь, нет ли в этом коде логических ошибок.",
                      "Клиенты жалуются, что новый интерфейс неудобный.",
                      "По последним данным, продажи выросли на пятнадцать процентов.",
                      "Я хочу понять, как этот закон повлияет на малый бизнес.",
                      "На встрече обсуждали бюджет и распределение сотрудников.",
                      "Главная мысль статьи — технологии должны служить людям.",
                      "Если будет время, добавим ещё один этап тестирования.",
                      "Он считает, что этот план слишком дорогой и рискованный."};
constexpr SV kEs[] = {"Necesitamos terminar la primera fase del proyecto antes de la próxima semana.",
                      "Los problemas de rendimiento vienen sobre todo de las consultas a la base de datos.",
                      "¿Puedes revisar si este código tiene algún error de lógica?",
                      "Los clientes dicen que la nueva interfaz no es muy cómoda.",
                      "Según los últimos datos, las ventas crecieron un quince por ciento.",
                      "Quiero entender cómo afectará esta política a las pequeñas empresas.",
                      "En la reunión hablamos del presupuesto y de la organización del equipo.",
                      "La idea principal del artículo es que la tecnología debe servir a las personas.",
                      "Si hay tiempo, añadiremos otra fase de pruebas.",
                      "Él piensa que el plan es demasiado caro."};
constexpr SV kDe[] = {"Wir müssen die erste Phase des Projekts bis nächste Woche abschließen.",
                      "Die Leistungsprobleme kommen hauptsächlich von den Datenbankabfragen.",
                      "Kannst du prüfen, ob dieser Code einen Logikfehler enthält?",
                      "Die Kunden sagen, dass die neue Oberfläche unübersichtlich ist.",
                      "Laut den neuesten Zahlen ist der Umsatz um fünfzehn Prozent gestiegen.",
                      "Ich möchte verstehen, wie sich diese Regelung auf kleine Firmen auswirkt.",
                      "Im Meeting ging es um das Budget und die Personalplanung."};
constexpr SV kFr[] = {"Nous devons terminer la première phase du projet avant la semaine prochaine.",
                      "Les problèmes de performance viennent surtout des requêtes à la base de données.",
                      "Peux-tu vérifier si ce code contient une erreur de logique ?",
                      "Les clients trouvent que la nouvelle interface n'est pas pratique.",
                      "D'après les derniers chiffres, les ventes ont augmenté de quinze pour cent.",
                      "Je voudrais comprendre l'effet de cette mesure sur les petites entreprises."};
constexpr SV kJa[] = {"来週までにプロジェクトの第一段階を終わらせる必要があります。",
                      "パフォーマンスの問題は主にデータベースのクエリが原因です。",
                      "このコードに論理的な誤りがないか確認してもらえますか。",
                      "お客様から新しい画面が使いにくいという意見がありました。",
                      "最新のデータによると、売上は前年比で十五パーセント増えました。",
                      "この制度が中小企業にどのような影響を与えるのか知りたいです。"};
constexpr SV kPt[] = {"Precisamos terminar a primeira fase do projeto até a próxima semana.",
                      "Os problemas de desempenho vêm principalmente das consultas ao banco de dados.",
                      "Você pode verificar se este código tem algum erro de lógica?",
                      "Os clientes dizem que a nova interface não é muito prática.",
                      "Segundo os dados mais recentes, as vendas cresceram quinze por cento."};
}  // namespace

void foreign_prose(Rng& rng, std::string& out, int lang, size_t target_bytes) {
  const size_t start = out.size();
  const bool cjk = lang == 0 || lang == 5;
  do {
    SV s;
    switch (lang) {
      case 0:
        s = pick(rng, kZh);
        break;
      case 1:
        s = pick(rng, kRu);
        break;
      case 2:
        s = pick(rng, kEs);
        break;
      case 3:
        s = pick(rng, kDe);
        break;
      case 4:
        s = pick(rng, kFr);
        break;
      case 5:
        s = pick(rng, kJa);
        break;
      default:
        s = pick(rng, kPt);
    }
    if (out.size() > start && !cjk) out += ' ';
    out += s;
  } while (out.size() - start < target_bytes);
}

void substitute_topic(std::string& s, std::string_view topic) {
  size_t pos = 0;
  while ((pos = s.find("$T", pos)) != std::string::npos) {
    s.replace(pos, 2, topic);
    pos += topic.size();
  }
}

}  // namespace gen
