// Grammar: a tiny template engine for varied synthetic text.
// A symbol has alternatives; an alternative is literal text with slots:
//   {name}      expand another symbol (recursively)
//   {#lo-hi}    a random integer in [lo, hi]
//   {@fn}       call a registered C++ generator (paragraphs, code, names...)
//   {{ and }}   literal braces
// Templates are compiled once at start-up (unknown names abort with a
// message), so expansion is a walk over pre-resolved parts: no parsing and no
// hashing on the per-event path.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rng.hpp"

namespace gen {

using GenFn = void (*)(Rng&, std::string&);

struct SymbolDef {
  std::string_view name;
  std::initializer_list<std::string_view> alts;
};

struct FnDef {
  std::string_view name;
  GenFn fn;
};

class Grammar {
 public:
  // The process-wide grammar built from lexicon.cpp (thread-safe init).
  static const Grammar& get();

  Grammar(std::span<const SymbolDef> symbols, std::span<const FnDef> fns);
  // Symbol id by name; aborts if unknown (a programming error).
  int id(std::string_view name) const;
  bool has(std::string_view name) const { return index_.count(name) != 0; }
  void expand(int sym, Rng& rng, std::string& out) const;
  void expand(std::string_view name, Rng& rng, std::string& out) const { expand(id(name), rng, out); }
  std::string make(std::string_view name, Rng& rng) const {
    std::string s;
    expand(name, rng, s);
    return s;
  }
  size_t alternatives(int sym) const { return syms_[static_cast<size_t>(sym)].n_alts; }
  // Expand a specific alternative (for systematic sweeps).
  void expand_alt(int sym, size_t alt, Rng& rng, std::string& out) const;

 private:
  enum class Kind : uint8_t { Lit, Sym, Int, Fn };
  struct Part {
    Kind kind;
    int32_t a = 0, b = 0;
    GenFn fn = nullptr;
  };
  struct Alt {
    uint32_t first, count;
  };
  struct Sym {
    uint32_t first_alt, n_alts;
  };
  void compile(std::string_view sym_name, std::string_view text, std::span<const FnDef> fns);
  void run_alt(const Alt& alt, Rng& rng, std::string& out) const;

  std::vector<Part> parts_;
  std::vector<Alt> alts_;
  std::vector<Sym> syms_;
  std::vector<std::string> owned_;  // literal texts with {{ }} unescaped
  std::unordered_map<std::string_view, int> index_;
};

}  // namespace gen
