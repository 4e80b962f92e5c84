// Text generators used by the grammar's {@fn} slots and by populations
// directly: prose, documents, source files, tool output. All deterministic
// given the Rng.
#pragma once
#include <string>
#include <string_view>

#include "grammar.hpp"
#include "rng.hpp"

namespace gen {

void sentence(Rng& rng, std::string& out);
void paragraph(Rng& rng, std::string& out);          // 3-7 sentences
void paragraphs(Rng& rng, std::string& out, int n);  // n paragraphs separated by blank lines
void person_name(Rng& rng, std::string& out);
// A source file (Python, TypeScript, Go, Rust, Java or SQL) of about
// `target_bytes` bytes. `lang` < 0 picks one.
void source_file(Rng& rng, std::string& out, size_t target_bytes, int lang = -1);
std::string_view source_extension(int lang);
int language_count();
// A short code snippet in a markdown fence (for chats).
void code_snippet(Rng& rng, std::string& out);
// An assistant chat reply: paragraphs, bullet lists, sometimes code.
void assistant_reply(Rng& rng, std::string& out, size_t target_bytes);
// Output of a test run, a grep, a directory listing, a build log.
void test_output(Rng& rng, std::string& out);
void grep_output(Rng& rng, std::string& out, std::string_view needle);
void dir_listing(Rng& rng, std::string& out);
void repo_path(Rng& rng, std::string& out);
// Fills `out` with prose of roughly `target_bytes` bytes in a non-English
// language: 0 zh, 1 ru, 2 es, 3 de, 4 fr, 5 ja, 6 pt.
void foreign_prose(Rng& rng, std::string& out, int lang, size_t target_bytes);

// Replace every "$T" in s with topic.
void substitute_topic(std::string& s, std::string_view topic);

}  // namespace gen
