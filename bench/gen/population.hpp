// Population registry: each traffic style (attacker or hard negative) is one
// builder that creates its accounts and actors. To add a population, write a
// builder (see pop_*.cpp) and add a row to populations() in corpus.cpp.
#pragma once
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "actor.hpp"

namespace gen {

struct BuildOptions {
  double volume = 1.0;                 // multiplies every per-account request rate
  int hydra_min = 20, hydra_max = 60;  // hydra cluster size range
};

using ActorList = std::vector<std::unique_ptr<Actor>>;
using BuildFn = void (*)(World&, int accounts, const BuildOptions&, ActorList&);

struct PopulationInfo {
  std::string_view style;
  std::string_view label;  // "attacker" | "benign"
  double share;            // default share of accounts
  int min_accounts;        // at least this many when the style is enabled
  BuildFn build;
  std::string_view summary;
};

std::span<const PopulationInfo> populations();

// Builders (one per style).
void build_benign(World&, int, const BuildOptions&, ActorList&);
void build_heavy_user(World&, int, const BuildOptions&, ActorList&);
void build_batch_customer(World&, int, const BuildOptions&, ActorList&);
void build_rag_pipeline(World&, int, const BuildOptions&, ActorList&);
void build_coding_agent(World&, int, const BuildOptions&, ActorList&);
void build_eval_harness(World&, int, const BuildOptions&, ActorList&);
void build_cot_harvester(World&, int, const BuildOptions&, ActorList&);
void build_hydra(World&, int, const BuildOptions&, ActorList&);
void build_mixed_proxy(World&, int, const BuildOptions&, ActorList&);
void build_logit_probe(World&, int, const BuildOptions&, ActorList&);
void build_dataset_gen(World&, int, const BuildOptions&, ActorList&);
void build_sysprompt_extraction(World&, int, const BuildOptions&, ActorList&);
void build_low_and_slow(World&, int, const BuildOptions&, ActorList&);
void build_skeleton_sweep(World&, int, const BuildOptions&, ActorList&);

}  // namespace gen
