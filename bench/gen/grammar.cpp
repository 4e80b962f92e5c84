#include "grammar.hpp"

#include <cstdio>
#include <cstdlib>

namespace gen {

namespace {
[[noreturn]] void die(std::string_view sym, std::string_view what, std::string_view text) {
  std::fprintf(stderr, "distillscan-gen: grammar error in symbol '%.*s': %.*s in \"%.*s\"\n", int(sym.size()),
               sym.data(), int(what.size()), what.data(), int(text.size()), text.data());
  std::abort();
}
}  // namespace

Grammar::Grammar(std::span<const SymbolDef> symbols, std::span<const FnDef> fns) {
  syms_.reserve(symbols.size());
  for (size_t i = 0; i < symbols.size(); ++i) {
    if (!index_.emplace(symbols[i].name, static_cast<int>(i)).second)
      die(symbols[i].name, "duplicate symbol", "");
    syms_.push_back({0, 0});
  }
  for (size_t i = 0; i < symbols.size(); ++i) {
    syms_[i].first_alt = static_cast<uint32_t>(alts_.size());
    syms_[i].n_alts = static_cast<uint32_t>(symbols[i].alts.size());
    if (syms_[i].n_alts == 0) die(symbols[i].name, "no alternatives", "");
    for (std::string_view alt : symbols[i].alts) compile(symbols[i].name, alt, fns);
  }
}

void Grammar::compile(std::string_view sym_name, std::string_view text, std::span<const FnDef> fns) {
  Alt alt{static_cast<uint32_t>(parts_.size()), 0};
  std::string lit;
  auto flush = [&] {
    if (lit.empty()) return;
    // Literals live in owned_ and are referenced by index, so growth of the
    // vector never invalidates them.
    owned_.push_back(lit);
    parts_.push_back({Kind::Lit, 0, 0, nullptr});
    parts_.back().a = static_cast<int32_t>(owned_.size() - 1);
    lit.clear();
  };
  for (size_t i = 0; i < text.size();) {
    char c = text[i];
    if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      lit += '{';
      i += 2;
      continue;
    }
    if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      lit += '}';
      i += 2;
      continue;
    }
    if (c == '}') die(sym_name, "unbalanced '}'", text);
    if (c != '{') {
      lit += c;
      ++i;
      continue;
    }
    size_t close = text.find('}', i);
    if (close == std::string_view::npos) die(sym_name, "unterminated slot", text);
    std::string_view slot = text.substr(i + 1, close - i - 1);
    flush();
    if (slot.empty()) die(sym_name, "empty slot", text);
    if (slot[0] == '#') {
      size_t dash = slot.find('-', 2);
      if (dash == std::string_view::npos) die(sym_name, "integer slot needs {#lo-hi}", text);
      int lo = std::atoi(std::string(slot.substr(1, dash - 1)).c_str());
      int hi = std::atoi(std::string(slot.substr(dash + 1)).c_str());
      if (hi < lo) die(sym_name, "integer slot hi < lo", text);
      parts_.push_back({Kind::Int, lo, hi, nullptr});
    } else if (slot[0] == '@') {
      GenFn fn = nullptr;
      for (const auto& f : fns)
        if (f.name == slot.substr(1)) fn = f.fn;
      if (!fn) die(sym_name, "unknown generator", slot);
      parts_.push_back({Kind::Fn, 0, 0, fn});
    } else {
      auto it = index_.find(slot);
      if (it == index_.end()) die(sym_name, "unknown symbol", slot);
      parts_.push_back({Kind::Sym, it->second, 0, nullptr});
    }
    i = close + 1;
  }
  flush();
  alt.count = static_cast<uint32_t>(parts_.size()) - alt.first;
  alts_.push_back(alt);
}

int Grammar::id(std::string_view name) const {
  auto it = index_.find(name);
  if (it == index_.end()) die(name, "symbol not defined", "");
  return it->second;
}

void Grammar::run_alt(const Alt& alt, Rng& rng, std::string& out) const {
  for (uint32_t p = alt.first; p < alt.first + alt.count; ++p) {
    const Part& part = parts_[p];
    switch (part.kind) {
      case Kind::Lit:
        out += owned_[static_cast<size_t>(part.a)];
        break;
      case Kind::Sym:
        expand(part.a, rng, out);
        break;
      case Kind::Int: {
        char buf[24];
        int n = std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(rng.range(part.a, part.b)));
        out.append(buf, static_cast<size_t>(n));
        break;
      }
      case Kind::Fn:
        part.fn(rng, out);
        break;
    }
  }
}

void Grammar::expand(int sym, Rng& rng, std::string& out) const {
  const Sym& s = syms_[static_cast<size_t>(sym)];
  run_alt(alts_[s.first_alt + (s.n_alts == 1 ? 0 : rng.below(s.n_alts))], rng, out);
}

void Grammar::expand_alt(int sym, size_t alt, Rng& rng, std::string& out) const {
  const Sym& s = syms_[static_cast<size_t>(sym)];
  run_alt(alts_[s.first_alt + alt % s.n_alts], rng, out);
}

}  // namespace gen
